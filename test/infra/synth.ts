/**
 * Synthesizes the app the way `cdk synth` does (the context of cdk.json, the cdk-nag checks of
 * bin/app.ts), so the tests look at the template that would be deployed.
 */
import { readFileSync } from 'node:fs';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../bin/app.js';
import { PROJECT_ROOT } from '../../lib/bundling.js';
import type { SwitchboardApiProps } from '../../lib/switchboard-api-props.js';
import { SwitchboardStack } from '../../lib/switchboard-stack.js';

/** The `context` of cdk.json: feature flags and CLI settings, as the CLI passes them. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(`${PROJECT_ROOT}cdk.json`, 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface SynthOptions {
  /** Extra context (`-c key=value`). */
  readonly context?: Record<string, unknown>;
  /**
   * Bundle the handlers with esbuild (slow-ish). Off, the assets are placeholders, which is
   * enough for everything but asset contents.
   */
  readonly bundle?: boolean;
}

/** An app with cdk.json's context (and no bundling unless asked). */
export function newApp(options: SynthOptions = {}): App {
  return new App({
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

/** The app of bin/app.ts (context, stack, cdk-nag), synthesized. */
export function synthApp(options: SynthOptions = {}): {
  app: App;
  stack: SwitchboardStack;
  template: Template;
} {
  const { app, stack } = buildApp(newApp(options));
  return { app, stack, template: Template.fromStack(stack) };
}

/** A stack with the given `SwitchboardApi` props (no context involved), synthesized. */
export function synthStack(
  switchboard: SwitchboardApiProps | ((stack: Stack) => SwitchboardApiProps) = {},
  options: SynthOptions = {},
): { app: App; stack: SwitchboardStack; template: Template } {
  const app = newApp(options);
  const stack = new SwitchboardStack(app, 'Test', { switchboard });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown> } & Record<string, unknown>
>;

/** The resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
}

type Resource = Resources[string] | undefined;

/** A resource property the test relies on; fails with its name when the resource lacks it. */
export function property<T>(resource: Resource, name: string): T {
  const value = resource?.Properties?.[name];
  if (value === undefined)
    throw new Error(`resource has no ${name}: ${JSON.stringify(resource)?.slice(0, 200)}`);
  return value as T;
}

/** A function's environment variables. */
export function variablesOf(fn: Resource): Record<string, unknown> {
  return property<{ Variables: Record<string, unknown> }>(fn, 'Environment').Variables;
}

export type PolicyStatement = {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Principal?: unknown;
  Condition?: unknown;
};

/** The statements of an IAM or resource policy. */
export function statementsOf(policy: Resource): PolicyStatement[] {
  return property<{ Statement: PolicyStatement[] }>(policy, 'PolicyDocument').Statement;
}
