/**
 * The publish path as deployed: EventBridge rule -> publish queue -> event source mapping ->
 * publish handler, with the dead-letter queue behind both the rule target and the queue.
 * Template only (no bundles).
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { switchboardEventPattern } from '../../adapters/event-pattern.js';
import { HANDLER_LIST, TRIGGER_ENTRIES } from '../../lambdas/handlers.js';
import { FANOUT_PIPELINE, PUBLISH_PIPELINE } from '../../lambdas/publish-pipeline.js';
import { PUBLISH_TARGET_RETRY_ATTEMPTS } from '../../lib/publish-pipeline.js';
import type { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { logicalId, property, resourcesOfType, statementsOf, synthStack } from './synth.js';

let stack: SwitchboardStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = synthStack());
});

const api = () => stack.switchboard;
const arnOf = (construct: { node: { defaultChild?: unknown } }) => ({
  'Fn::GetAtt': [logicalId(stack, construct), 'Arn'],
});
/** The resource policy of one queue. */
const queuePolicyOf = (queue: { node: { defaultChild?: unknown } }) =>
  Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')).find(
    (p) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: logicalId(stack, queue) }]),
  );
const publishFunctionId = () => logicalId(stack, api().handlers[TRIGGER_ENTRIES.publish]?.function as never);

describe('publish queue', () => {
  it('is encrypted by SQS and redrives to the dead-letter queue after maxReceiveCount receives', () => {
    // Prepare
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');

    // Act
    const queue = queues[logicalId(stack, api().publishQueue)];

    // Assess
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(api().deadLetterQueue),
        maxReceiveCount: PUBLISH_PIPELINE.maxReceiveCount,
      },
    });
  });

  it('hides a received batch for six times the function timeout, as AWS advises', () => {
    // Prepare
    const queue = resourcesOfType(template, 'AWS::SQS::Queue')[logicalId(stack, api().publishQueue)];

    // Act
    const visibility = property<number>(queue, 'VisibilityTimeout');

    // Assess
    expect(visibility).toBe(PUBLISH_PIPELINE.visibilityTimeoutSeconds);
    expect(visibility).toBeGreaterThanOrEqual(6 * PUBLISH_PIPELINE.functionTimeoutSeconds);
  });

  it('keeps messages for less time than the dead-letter queue, which inherits their enqueue time', () => {
    // Prepare
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');

    // Act
    const publish = property<number>(queues[logicalId(stack, api().publishQueue)], 'MessageRetentionPeriod');
    const dead = property<number>(queues[logicalId(stack, api().deadLetterQueue)], 'MessageRetentionPeriod');

    // Assess
    expect(publish).toBeLessThan(dead);
  });

  it('refuses plain HTTP and accepts messages from the publish rule only', () => {
    // Act
    const policy = queuePolicyOf(api().publishQueue);

    // Assess
    expect(statementsOf(policy)).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow',
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': arnOf(api().publishRule) } },
      }),
    ]);
  });

  it('lets only the publish rule send to the encrypted, TLS-only dead-letter queue', () => {
    // Act
    const policy = queuePolicyOf(api().deadLetterQueue);

    // Assess
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    expect(statementsOf(policy)).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': arnOf(api().publishRule) } },
      }),
    ]);
  });

  it('is deleted with the stack, while the dead-letter queue is kept', () => {
    // Prepare
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');

    // Act
    const publish = queues[logicalId(stack, api().publishQueue)];
    const dead = queues[logicalId(stack, api().deadLetterQueue)];

    // Assess
    expect(publish?.DeletionPolicy).toBe('Delete');
    expect(dead?.DeletionPolicy).toBe('Retain');
  });
});

describe('publish rule', () => {
  it('puts matching events on the publish queue, with retries, max event age and the dead-letter queue', () => {
    // Act & Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      // The stack's own bus, not the account's default one: publishing is explicit.
      EventBusName: { Ref: logicalId(stack, api().eventBus as never) },
      EventPattern: switchboardEventPattern(),
      Targets: [
        {
          Arn: arnOf(api().publishQueue),
          Id: Match.anyValue(),
          RetryPolicy: {
            MaximumRetryAttempts: PUBLISH_TARGET_RETRY_ATTEMPTS,
            MaximumEventAgeInSeconds: 3600,
          },
          DeadLetterConfig: { Arn: arnOf(api().deadLetterQueue) },
        },
      ],
    });
  });

  it('sends the event envelope untransformed, as the handler parses it', () => {
    // Prepare
    const rule = resourcesOfType(template, 'AWS::Events::Rule')[logicalId(stack, api().publishRule)];

    // Act
    const [target] = property<Record<string, unknown>[]>(rule, 'Targets');

    // Assess
    expect(target).not.toHaveProperty('Input');
    expect(target).not.toHaveProperty('InputPath');
    expect(target).not.toHaveProperty('InputTransformer');
  });

  it('no longer invokes the publish function directly', () => {
    // Prepare
    const targets = Object.values(resourcesOfType(template, 'AWS::Events::Rule')).flatMap((r) =>
      property<{ Arn: unknown }[]>(r, 'Targets'),
    );

    // Act
    const invoking = targets.filter((t) => JSON.stringify(t.Arn).includes(`"${publishFunctionId()}"`));

    // Assess
    expect(invoking).toEqual([]);
    const permissions = Object.values(resourcesOfType(template, 'AWS::Lambda::Permission')).filter(
      (p) => p.Properties?.Principal === 'events.amazonaws.com',
    );
    for (const permission of permissions) {
      expect(JSON.stringify(permission.Properties?.FunctionName)).not.toContain(publishFunctionId());
    }
  });
});

describe('publish handler', () => {
  it('reads the queue in batches of 10, reports failed records, and caps concurrency at its reservation', () => {
    // Act & Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: publishFunctionId() },
      EventSourceArn: arnOf(api().publishQueue),
      BatchSize: PUBLISH_PIPELINE.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: PUBLISH_PIPELINE.reservedConcurrency },
    });
    const mappings = Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).filter(
      (m) => JSON.stringify(m.Properties?.FunctionName) === JSON.stringify({ Ref: publishFunctionId() }),
    );
    expect(mappings).toHaveLength(1);
  });

  it('reserves the default concurrency and the pipeline timeout', () => {
    // Prepare
    const fn = resourcesOfType(template, 'AWS::Lambda::Function')[publishFunctionId()];

    // Act & Assess
    expect(fn?.Properties).toMatchObject({
      ReservedConcurrentExecutions: PUBLISH_PIPELINE.reservedConcurrency,
      Timeout: PUBLISH_PIPELINE.functionTimeoutSeconds,
    });
  });

  it('gives every function the timeout the local runtime enforces', () => {
    // Prepare
    const functions = stack.switchboard.handlers;
    // Act & Assess
    for (const { entry, timeoutSeconds } of HANDLER_LIST) {
      const fn = resourcesOfType(template, 'AWS::Lambda::Function')[
        logicalId(stack, functions[entry]?.function as never)
      ];
      expect(fn?.Properties?.Timeout, entry).toBe(timeoutSeconds);
    }
    expect(HANDLER_LIST.map((spec) => spec.entry).sort()).toEqual(Object.keys(functions).sort());
  });

  it('reserves publishReservedConcurrency, and the mapping follows it', () => {
    // Prepare
    const { stack: custom, template: customTemplate } = synthStack({ publishReservedConcurrency: 50 });
    const id = logicalId(custom, custom.switchboard.handlers[TRIGGER_ENTRIES.publish]?.function as never);

    // Act
    const fn = resourcesOfType(customTemplate, 'AWS::Lambda::Function')[id];

    // Assess
    expect(fn?.Properties?.ReservedConcurrentExecutions).toBe(50);
    customTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id },
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it('reserves concurrency for publish, the fan-out workers and the sweep (one run at a time) only', () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');

    // Act
    const reserved = Object.entries(functions)
      .filter(([, fn]) => fn.Properties?.ReservedConcurrentExecutions !== undefined)
      .map(([id]) => id);

    // Assess
    const fanoutId = logicalId(stack, api().handlers[TRIGGER_ENTRIES.fanout]?.function as never);
    const sweepId = logicalId(stack, api().handlers[TRIGGER_ENTRIES.sweep]?.function as never);
    expect(reserved.sort()).toEqual([publishFunctionId(), fanoutId, sweepId].sort());
    expect(functions[fanoutId]?.Properties?.ReservedConcurrentExecutions).toBe(
      FANOUT_PIPELINE.reservedConcurrency,
    );
    expect(functions[sweepId]?.Properties?.ReservedConcurrentExecutions).toBe(1);
  });

  it('has no asynchronous invoke configuration: failures are the queue redrive', () => {
    // Act
    const configs = Object.values(resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig')).filter(
      (c) => JSON.stringify(c.Properties?.FunctionName) === JSON.stringify({ Ref: publishFunctionId() }),
    );

    // Assess
    expect(configs).toEqual([]);
  });

  it('may consume the publish queue, send to the fan-out queue and to the publish queue (presence leaves), and no other queue', () => {
    // Prepare
    const roleId = logicalId(stack, api().handlers[TRIGGER_ENTRIES.publish]?.role as never);
    const policies = Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties?.Roles).includes(`"${roleId}"`),
    );

    // Act
    const sqs = policies
      .flatMap((p) => statementsOf(p))
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')));

    // Assess
    // CDK merges the two SendMessage grants into one statement with both queues.
    expect(sqs).toHaveLength(2);
    expect(sqs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Action: expect.arrayContaining([
            'sqs:ReceiveMessage',
            'sqs:DeleteMessage',
            'sqs:ChangeMessageVisibility',
          ]),
          Resource: arnOf(api().publishQueue),
        }),
        // The fan-out queue, and the publish queue for the presence leaves of connections it
        // finds gone (core/presence.ts).
        expect.objectContaining({
          Effect: 'Allow',
          Action: expect.arrayContaining(['sqs:SendMessage']),
          Resource: [arnOf(api().fanout.queue), arnOf(api().publishQueue)],
        }),
      ]),
    );
  });
});

describe('the fan-out queue (big channels and broadcasts)', () => {
  it('feeds the fan-out workers one task at a time, and redrives a failing task to the dead-letter queue', () => {
    // Prepare
    const fanoutId = logicalId(stack, api().handlers[TRIGGER_ENTRIES.fanout]?.function as never);
    const queue = resourcesOfType(template, 'AWS::SQS::Queue')[logicalId(stack, api().fanout.queue)];
    // Act & Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fanoutId },
      EventSourceArn: arnOf(api().fanout.queue),
      BatchSize: FANOUT_PIPELINE.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: FANOUT_PIPELINE.reservedConcurrency },
    });
    expect(queue?.Properties).toMatchObject({
      VisibilityTimeout: FANOUT_PIPELINE.visibilityTimeoutSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(api().deadLetterQueue),
        maxReceiveCount: FANOUT_PIPELINE.maxReceiveCount,
      },
    });
  });

  it('tells publish and the workers where it is, and the budget they share', () => {
    // Prepare
    const publish = resourcesOfType(template, 'AWS::Lambda::Function')[publishFunctionId()];
    // Act
    const variables =
      (publish?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ??
      {};
    // Assess
    expect(variables.SWITCHBOARD_FANOUT_QUEUE_URL).toEqual({ Ref: logicalId(stack, api().fanout.queue) });
    expect(variables.SWITCHBOARD_CALLBACKS_PER_SECOND).toBe('4000');
    expect(variables.SWITCHBOARD_FANOUT_THRESHOLD).toBe('1000');
  });
});

describe('outputs', () => {
  it('give the publish queue and dead-letter queue URLs a redrive needs', () => {
    // Act
    const outputs = template.findOutputs('*');

    // Assess
    expect(outputs.PublishQueueUrl?.Value).toEqual({ Ref: logicalId(stack, api().publishQueue) });
    expect(outputs.DeadLetterQueueUrl?.Value).toEqual({ Ref: logicalId(stack, api().deadLetterQueue) });
  });
});
