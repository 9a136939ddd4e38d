/**
 * The alarms: each one exists, reads the metric it is named for, and pages on what it should
 * (and not on refused handshakes). Template only (no bundles).
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { beforeAll, describe, expect, it } from 'vitest';
import { TRIGGER_ENTRIES, WEBSOCKET_ROUTES } from '../../lambdas/handlers.js';
import { PUBLISH_QUEUE_AGE_THRESHOLD } from '../../lib/switchboard-monitoring.js';
import type { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { logicalId, resourcesOfType, synthStack } from './synth.js';

let stack: SwitchboardStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = synthStack(() => ({ dashboard: true })));
});

const api = () => stack.switchboard;
const fnRef = (entry: string) => ({ Ref: logicalId(stack, api().handlers[entry]?.function as never) });

type MetricQuery = {
  Id: string;
  Expression?: string;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
  };
};

/** The alarm's properties, by the construct that made it. */
function alarmProps(alarm: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  const found = resourcesOfType(template, 'AWS::CloudWatch::Alarm')[logicalId(stack, alarm)];
  if (!found?.Properties) throw new Error('alarm not in the template');
  return found.Properties;
}

/** The metrics an alarm reads, directly or through metric math. */
function metricsRead(
  props: Record<string, unknown>,
): { namespace: string; name: string; dimensions: unknown }[] {
  if (props.MetricName) {
    return [
      {
        namespace: props.Namespace as string,
        name: props.MetricName as string,
        dimensions: props.Dimensions,
      },
    ];
  }
  return ((props.Metrics ?? []) as MetricQuery[]).flatMap((q) =>
    q.MetricStat
      ? [
          {
            namespace: q.MetricStat.Metric.Namespace,
            name: q.MetricStat.Metric.MetricName,
            dimensions: q.MetricStat.Metric.Dimensions,
          },
        ]
      : [],
  );
}

describe('alarms', () => {
  it('are nine, every one in the template and without data treated as fine', () => {
    // Act
    const alarms = api().monitoring.alarms;

    // Assess
    expect(alarms).toHaveLength(9);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    for (const alarm of alarms) expect(alarmProps(alarm).TreatMissingData).toBe('notBreaching');
  });

  it('fire when the oldest event in the publish queue is 5 minutes old', () => {
    // Act
    const props = alarmProps(api().monitoring.publishQueueAgeAlarm);

    // Assess
    expect(props).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, api().publishQueue), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Threshold: PUBLISH_QUEUE_AGE_THRESHOLD.toSeconds(),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(PUBLISH_QUEUE_AGE_THRESHOLD.toSeconds()).toBe(300);
  });

  it('fire when the dead-letter queue holds a message', () => {
    // Act
    const props = alarmProps(api().monitoring.deadLetterQueueAlarm);

    // Assess
    expect(props).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack, api().deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
    });
  });

  it('fire on read or write throttles of the table and of its sweep index', () => {
    // Prepare
    const table = { Ref: logicalId(stack, api().table) };

    // Act
    const props = alarmProps(api().monitoring.tableThrottlesAlarm);

    // Assess
    expect(props.Threshold).toBe(1);
    expect(metricsRead(props)).toEqual(
      expect.arrayContaining([
        {
          namespace: 'AWS/DynamoDB',
          name: 'ReadThrottleEvents',
          dimensions: [{ Name: 'TableName', Value: table }],
        },
        {
          namespace: 'AWS/DynamoDB',
          name: 'WriteThrottleEvents',
          dimensions: [{ Name: 'TableName', Value: table }],
        },
        {
          namespace: 'AWS/DynamoDB',
          name: 'WriteThrottleEvents',
          dimensions: expect.arrayContaining([{ Name: 'GlobalSecondaryIndexName', Value: 'sweep' }]),
        },
      ]),
    );
    expect(metricsRead(props)).toHaveLength(4);
  });

  it("fire on the publish rule's failed invocations, by rule name on the default bus", () => {
    // Prepare
    const { stack: onDefault, template: defaultTemplate } = synthStack((s) => ({
      eventBus: EventBus.fromEventBusName(s, 'DefaultBus', 'default'),
    }));
    const alarm = onDefault.switchboard.monitoring.publishRuleFailuresAlarm;
    const rule = { Ref: logicalId(onDefault, onDefault.switchboard.publishRule) };

    // Act
    const props = resourcesOfType(defaultTemplate, 'AWS::CloudWatch::Alarm')[logicalId(onDefault, alarm)]
      ?.Properties as Record<string, unknown>;

    // Assess
    expect(metricsRead(props)).toEqual([
      { namespace: 'AWS/Events', name: 'FailedInvocations', dimensions: [{ Name: 'RuleName', Value: rule }] },
      {
        namespace: 'AWS/Events',
        name: 'InvocationsFailedToBeSentToDlq',
        dimensions: [{ Name: 'RuleName', Value: rule }],
      },
    ]);
  });

  it.each([
    ['an imported bus', true],
    ["the stack's own bus (the default)", false],
  ])('name the bus and the bare rule name for a rule on %s (whose Ref is bus|rule)', (_, imported) => {
    // Prepare
    const { stack: custom, template: customTemplate } = synthStack((s) =>
      imported ? { eventBus: EventBus.fromEventBusName(s, 'Bus', 'apps') } : {},
    );
    const ref = { Ref: logicalId(custom, custom.switchboard.publishRule) };

    // Act & Assess
    customTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'AWS/Events',
              MetricName: 'FailedInvocations',
              Dimensions: [
                { Name: 'EventBusName', Value: { 'Fn::Select': [0, { 'Fn::Split': ['|', ref] }] } },
                { Name: 'RuleName', Value: { 'Fn::Select': [1, { 'Fn::Split': ['|', ref] }] } },
              ],
            },
          }),
        }),
      ]),
    });
  });

  it('fire on publish handler errors', () => {
    // Act
    const props = alarmProps(api().monitoring.publishErrorsAlarm);

    // Assess
    expect(props).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: fnRef(TRIGGER_ENTRIES.publish) }],
      Threshold: 1,
    });
  });

  it("fire on any handler's errors or throttles, and on the token exchange's 5xx", () => {
    // Prepare
    const everyHandler = Object.keys(api().handlers).map((entry) => ({
      Name: 'FunctionName',
      Value: fnRef(entry),
    }));
    const { handlerErrorsAlarm, throttlesAlarm, httpServerErrorsAlarm } = api().monitoring;

    // Act
    const errors = metricsRead(alarmProps(handlerErrorsAlarm));
    const throttles = metricsRead(alarmProps(throttlesAlarm));

    // Assess
    expect(errors.map((m) => m.name)).toEqual(everyHandler.map(() => 'Errors'));
    expect(errors.map((m) => m.dimensions)).toEqual(everyHandler.map((d) => [d]));
    // The sweep is throttled by design when a run outlasts its period (reserved concurrency 1).
    const throttled = everyHandler.filter((d) => JSON.stringify(d.Value) !== JSON.stringify(fnRef('sweep')));
    expect(throttled).toHaveLength(everyHandler.length - 1);
    expect(throttles.map((m) => m.name)).toEqual(throttled.map(() => 'Throttles'));
    expect(throttles.map((m) => m.dimensions)).toEqual(throttled.map((d) => [d]));
    expect(alarmProps(httpServerErrorsAlarm)).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(stack, api().httpApi) } }],
    });
  });
});

describe('the WebSocket 5xx alarm', () => {
  it('does not read IntegrationError or ClientError, which count refused handshakes', () => {
    // Act
    const names = metricsRead(alarmProps(api().monitoring.webSocketErrorsAlarm)).map((m) => m.name);

    // Assess
    expect(names).not.toContain('IntegrationError');
    expect(names).not.toContain('ClientError');
  });

  it("reads ExecutionError and the route handlers' Lambda errors, and nothing else", () => {
    // Prepare
    const routeEntries = [...new Set(WEBSOCKET_ROUTES.map((r) => r.entry))];

    // Act
    const read = metricsRead(alarmProps(api().monitoring.webSocketErrorsAlarm));

    // Assess
    expect(read).toEqual(
      expect.arrayContaining([
        {
          namespace: 'AWS/ApiGateway',
          name: 'ExecutionError',
          dimensions: [
            { Name: 'ApiId', Value: { Ref: logicalId(stack, api().webSocketApi) } },
            { Name: 'Stage', Value: 'ws' },
          ],
        },
        ...routeEntries.map((entry) => ({
          namespace: 'AWS/Lambda',
          name: 'Errors',
          dimensions: [{ Name: 'FunctionName', Value: fnRef(entry) }],
        })),
      ]),
    );
    expect(read).toHaveLength(1 + routeEntries.length);
  });

  it('adds no dashboard unless asked for: it would cost more than the rest of an idle stack', () => {
    // Act
    const { template: byDefault } = synthStack();

    // Assess
    expect(Object.keys(resourcesOfType(byDefault, 'AWS::CloudWatch::Dashboard'))).toEqual([]);
    expect(Object.keys(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'))).toHaveLength(1);
    expect(Object.keys(resourcesOfType(byDefault, 'AWS::CloudWatch::Alarm'))).toHaveLength(
      Object.keys(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).length,
    );
  });

  it('is not charted from IntegrationError on the dashboard either', () => {
    // Act
    const dashboard = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'))[0];

    // Assess
    expect(JSON.stringify(dashboard?.Properties?.DashboardBody)).not.toContain('IntegrationError');
  });
});
