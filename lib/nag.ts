/**
 * cdk-nag acknowledgements that follow the resources they are about. Each acknowledgement is
 * recorded on the construct it concerns, with its reason, via `Validations.of(...).acknowledge`.
 *
 * IAM5 findings name the flattened resource (`<LogicalId.Arn>/index/*`), which depends on the
 * construct's path; `acknowledgeGrantWildcards` derives those names from the grant itself, so the
 * acknowledgement still matches wherever the construct is placed.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { Grant } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** The same flattening cdk-nag applies to a CloudFormation reference before naming a finding. */
export function flattenCfnReference(reference: unknown): string {
  if (reference === undefined) return '';
  if (typeof reference === 'string') return reference.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof reference === 'object' && reference !== null) {
    const node = reference as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenCfnReference).join(delimiter);
    }
    if (node['Fn::Sub'] !== undefined) return flattenCfnReference(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
    }
    if (node['Fn::ImportValue'] !== undefined) return flattenCfnReference(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flattenCfnReference(node.Ref)}>`;
  }
  return JSON.stringify(reference);
}

/**
 * Acknowledges `AwsSolutions-IAM5` for each wildcard action or resource of `grant`, on `scope`
 * (the grantee's role). Returns the acknowledged ids.
 */
export function acknowledgeGrantWildcards(grant: Grant, scope: IConstruct, reason: string): string[] {
  const stack = Stack.of(scope);
  const ids = new Set<string>();
  for (const statement of grant.principalStatements) {
    for (const action of statement.actions) {
      if (action.includes('*')) ids.add(`AwsSolutions-IAM5[Action::${action}]`);
    }
    for (const resource of statement.resources) {
      const flat = flattenCfnReference(stack.resolve(resource));
      if (flat.includes('*')) ids.add(`AwsSolutions-IAM5[Resource::${flat}]`);
    }
  }
  if (ids.size > 0) Validations.of(scope).acknowledge(...[...ids].map((id) => ({ id, reason })));
  return [...ids];
}

/** Acknowledges one rule on `scope` (and everything under it). */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
