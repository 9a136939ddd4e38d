/**
 * Existing deployments upgrade in place: every resource keeps the logical id it was deployed
 * with.
 *
 * The rule: CloudFormation identifies a resource by its logical id; an id that changes is a new
 * resource created and the old one deleted ("Identifiers and the AWS CDK", Logical ID stability,
 * https://docs.aws.amazon.com/cdk/v2/guide/identifiers.html). For Switchboard that is the DynamoDB
 * table (every connection and subscription lost), the queues (queued events dropped), the WebSocket
 * API and its stage (a new endpoint URL for every client), the custom domain mapping, the HS256
 * secret (a new key: every issuer's tokens refused), the event bus (every publisher's bus name
 * wrong) and the log groups (their history gone). CDK derives a logical id from the construct
 * path, so moving a construct moves its id: the parts of `SwitchboardApi` build their resources in
 * its scope, beside themselves (`lib/switchboard-part.ts`).
 *
 * `fixtures/logical-ids.json` holds the ids of five stacks as synthesized before the constructor
 * was split (issue 11). Every recorded id must still be there with its type; resources may be
 * added. A deliberate change of ids is a breaking change: say so in packages/cdk/CHANGELOG.md,
 * with the migration, and re-record (`test/infra/logical-id-scenarios.ts` says how).
 */
import { readFileSync } from 'node:fs';
import { CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { SwitchboardApi } from '../../lib/switchboard-api.js';
import type { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { type LogicalIds, logicalIdsOf, SCENARIOS } from './logical-id-scenarios.js';

const RECORDED = JSON.parse(
  readFileSync(new URL('./fixtures/logical-ids.json', import.meta.url), 'utf8'),
) as Record<string, LogicalIds>;

/** The resources whose replacement loses data or changes what users connect or publish to. */
const STATEFUL_OR_VISIBLE = [
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Stage',
  'AWS::ApiGatewayV2::DomainName',
  'AWS::ApiGatewayV2::ApiMapping',
  'AWS::SecretsManager::Secret',
  'AWS::Events::EventBus',
  'AWS::Logs::LogGroup',
  'AWS::CloudFront::Distribution',
  'AWS::WAFv2::WebACL',
];

const idsOfType = (ids: LogicalIds, type: string) =>
  Object.entries(ids)
    .filter(([, t]) => t === type)
    .map(([id]) => id)
    .sort();

const current = Object.fromEntries(
  Object.entries(SCENARIOS).map(([name, make]) => [name, logicalIdsOf(make())]),
);

describe.each(Object.keys(SCENARIOS))('stack "%s"', (name) => {
  const recorded = RECORDED[name] as LogicalIds;
  const now = current[name] as LogicalIds;

  it('was recorded', () => {
    expect(Object.keys(recorded ?? {}).length).toBeGreaterThan(0);
  });

  it.each(STATEFUL_OR_VISIBLE)('keeps the logical id of every %s', (type) => {
    expect(idsOfType(now, type)).toEqual(idsOfType(recorded, type));
  });

  it('keeps every other recorded logical id, with its type', () => {
    const lost = Object.entries(recorded).filter(([id, type]) => now[id] !== type);
    expect(lost).toEqual([]);
  });
});

it('covers every stateful type the stacks create, in at least one stack', () => {
  const created = new Set(Object.values(RECORDED).flatMap((ids) => Object.values(ids)));
  const missing = STATEFUL_OR_VISIBLE.filter((type) => !created.has(type));
  expect(missing).toEqual([]);
});

describe('the parts of SwitchboardApi', () => {
  const stack = SCENARIOS.everything?.() as SwitchboardStack;
  const api: SwitchboardApi = stack.switchboard;
  const parts = ['State', 'WebSocket', 'Handlers', 'TokenExchange', 'Publishing', 'Sweep'];

  it.each(parts)('%s is in the construct tree, its resources beside it', (part) => {
    const node = api.node.findChild(part).node;
    expect(node.path).toBe(`${api.node.path}/${part}`);
    expect(node.children).toEqual([]);
  });

  it('stand for their resources: depending on a part depends on each of them', () => {
    // Arrange
    const probes = Object.fromEntries(
      parts.map((part) => {
        const probe = new CfnWaitConditionHandle(stack, `DependsOn${part}`);
        probe.node.addDependency(api.node.findChild(part));
        return [part, stack.getLogicalId(probe)];
      }),
    );
    // Act
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { DependsOn?: string[] }
    >;
    const dependsOn = (part: string) => resources[probes[part] as string]?.DependsOn ?? [];
    const id = (construct: { node: { defaultChild?: unknown } }) =>
      Stack.of(api).getLogicalId(construct.node.defaultChild as never);
    // Assess
    expect(dependsOn('State')).toEqual(expect.arrayContaining([id(api.table), id(api.deadLetterQueue)]));
    expect(dependsOn('WebSocket')).toEqual(expect.arrayContaining([id(api.webSocketApi), id(api.stage)]));
    expect(dependsOn('Handlers')).toEqual(
      expect.arrayContaining(Object.values(api.handlers).map((h) => id(h.function))),
    );
    expect(dependsOn('TokenExchange')).toEqual(expect.arrayContaining([id(api.httpApi), id(api.httpStage)]));
    expect(dependsOn('Publishing')).toEqual(
      expect.arrayContaining([id(api.publishRule), id(api.publishQueue)]),
    );
    expect(dependsOn('Sweep')).toEqual(expect.arrayContaining([id(api.sweepRule)]));
  });
});
