/**
 * The `grant*` methods of `ISwitchboardApi`: each adds to the grantee's policy exactly the
 * statements its TSDoc names, on Switchboard's own resources, and returns them as an `iam.Grant`.
 * (The `sources` condition of `grantPublish` is covered in switchboard-api-props.test.ts.)
 */
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { type Grant, type IGrantable, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import type { ISwitchboardApi } from '../../lib/index.js';
import { flattenCfnReference } from '../../lib/nag.js';
import { SwitchboardPropsError } from '../../lib/switchboard-api-props.js';
import { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { logicalId, newApp, type PolicyStatement, resourcesOfType, statementsOf } from './synth.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchboard-AbCdEf';

/** A stack with a Switchboard, a role per grant, and the grant each method returned. */
function granted(switchboard?: ConstructorParameters<typeof SwitchboardStack>[2]) {
  const stack = new SwitchboardStack(newApp(), 'Grants', switchboard);
  // A user's construct sees the interface only.
  const api: ISwitchboardApi = stack.switchboard;
  const role = (id: string) => new Role(stack, id, { assumedBy: new ServicePrincipal('ecs.amazonaws.com') });
  const grants: Record<string, { role: Role; grant: Grant }> = {};
  const grant = (id: string, call: (grantee: IGrantable) => Grant) => {
    const grantee = role(id);
    grants[id] = { role: grantee, grant: call(grantee) };
  };
  grant('Publisher', (g) => api.grantPublish(g));
  grant('Poster', (g) => api.grantManageConnections(g));
  grant('Issuer', (g) => api.grantReadAuthSecret(g));
  grant('Operator', (g) => api.grantRedrive(g));
  const template = Template.fromStack(stack);

  /** The statements of the policies attached to one of the roles, resources flattened. */
  const statementsFor = (id: string): (PolicyStatement & { resources: string[] })[] => {
    const roleId = logicalId(stack, grants[id]?.role as Role);
    return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => statementsOf(p))
      .map((s) => ({
        ...s,
        resources: (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map(flattenCfnReference),
      }));
  };
  const ref = (construct: { node: { defaultChild?: unknown } }) => `<${logicalId(stack, construct)}>`;
  const arn = (construct: { node: { defaultChild?: unknown } }) => `<${logicalId(stack, construct)}.Arn>`;
  return { stack, api: stack.switchboard, grants, statementsFor, ref, arn };
}

const actions = (s: PolicyStatement) => [s.Action].flat().sort();

describe('the grants of a Switchboard with its own secret and bus', () => {
  const { api, grants, statementsFor, ref, arn } = granted();

  it.each(['Publisher', 'Poster', 'Issuer', 'Operator'])(
    '%s: the returned Grant holds what the policy got',
    (id) => {
      const { grant } = grants[id] as { grant: Grant };
      expect(grant.success).toBe(true);
      expect(grant.principalStatements.length).toBe(statementsFor(id).length);
    },
  );

  it('grantPublish: events:PutEvents on the Switchboard bus, from any source', () => {
    const [statement, ...others] = statementsFor('Publisher');
    expect(others).toEqual([]);
    expect(actions(statement as PolicyStatement)).toEqual(['events:PutEvents']);
    expect(statement?.resources).toEqual([arn(api.node.findChild('EventBus') as never)]);
    expect(statement?.Condition).toBeUndefined();
  });

  it("grantManageConnections: execute-api:ManageConnections on this stage's @connections, every method", () => {
    const [statement, ...others] = statementsFor('Poster');
    expect(others).toEqual([]);
    expect(actions(statement as PolicyStatement)).toEqual(['execute-api:ManageConnections']);
    expect(statement?.resources).toEqual([
      `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:${ref(api.webSocketApi)}/${api.config.stageName}/*/@connections/*`,
    ]);
  });

  it('grantReadAuthSecret: GetSecretValue and DescribeSecret on the generated secret only', () => {
    const [statement, ...others] = statementsFor('Issuer');
    expect(others).toEqual([]);
    expect(actions(statement as PolicyStatement)).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(statement?.resources).toEqual([ref(api.authSecret as never)]);
  });

  it('grantRedrive: consume the dead-letter queue, send to the publish queue, nothing on the fan-out queue', () => {
    const statements = statementsFor('Operator');
    const on = (queue: { node: { defaultChild?: unknown } }) =>
      statements
        .filter((s) => s.resources.includes(arn(queue)))
        .flatMap(actions)
        .sort();
    expect(on(api.deadLetterQueue)).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    expect(on(api.publishQueue)).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(on(api.fanout.queue)).toEqual([]);
    expect(statements.flatMap((s) => s.resources).sort()).toEqual(
      [arn(api.deadLetterQueue), arn(api.publishQueue)].sort(),
    );
  });
});

describe('the grants of a Switchboard with an imported secret and bus', () => {
  const { statementsFor } = granted({
    switchboard: (stack) => ({
      auth: { secret: Secret.fromSecretCompleteArn(stack, 'Secret', SECRET_ARN) },
      eventBus: EventBus.fromEventBusName(stack, 'Bus', 'apps'),
    }),
  });

  it('grantReadAuthSecret names the imported secret', () => {
    expect(statementsFor('Issuer').map((s) => s.resources)).toEqual([[SECRET_ARN]]);
  });

  it('grantPublish names the imported bus', () => {
    expect(statementsFor('Publisher').flatMap((s) => s.resources)).toEqual([
      'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/apps',
    ]);
  });
});

describe('grantPublish on a Switchboard that lists its event sources', () => {
  const { stack, api } = (() => {
    const stack = new SwitchboardStack(newApp(), 'Sources', {
      switchboard: () => ({ eventSources: ['billing-service', 'orders-service'] }),
    });
    return { stack, api: stack.switchboard as ISwitchboardApi };
  })();
  const role = (id: string) => new Role(stack, id, { assumedBy: new ServicePrincipal('ecs.amazonaws.com') });

  it('grants a source the stack accepts, with the events:source condition', () => {
    // Act
    const grant = api.grantPublish(role('Billing'), ['billing-service']);
    // Assess
    expect(grant.success).toBe(true);
    const statements = Object.values(resourcesOfType(Template.fromStack(stack), 'AWS::IAM::Policy')).flatMap(
      (policy) => statementsOf(policy),
    );
    expect(statements.map((s) => s.Condition)).toContainEqual({
      StringEquals: { 'events:source': ['billing-service'] },
    });
  });

  it('refuses a source the rule would drop, naming it and the accepted ones', () => {
    // Act
    const stranger = role('Stranger');
    const publish = () => api.grantPublish(stranger, ['billing-service', 'shipping-service']);
    // Assess: the grant would work, and every event of that source would be dropped by the rule.
    expect(publish).toThrow(SwitchboardPropsError);
    expect(publish).toThrow(
      '"shipping-service" is not among the eventSources the stack accepts (billing-service, orders-service)',
    );
  });
});
