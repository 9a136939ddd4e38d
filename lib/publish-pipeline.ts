/**
 * `PublishPipeline`: what lies between the publish rule and the publish handler.
 *
 *   EventBridge rule ──▶ publish queue (SQS standard) ──▶ event source mapping ──▶ publish Lambda
 *         │ (target DLQ)          │ (redrive after maxReceiveCount)
 *         └────────────▶ dead-letter queue ◀──┘
 *
 * Every number comes from `PUBLISH_PIPELINE` (lambdas/publish-pipeline.ts), which the local stack
 * emulates too; only the concurrency is a prop.
 */
import { Duration } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PUBLISH_PIPELINE } from '../lambdas/publish-pipeline.js';

/** EventBridge's retries of a failed send to the publish queue (before the dead-letter queue). */
export const PUBLISH_TARGET_RETRY_ATTEMPTS = 10;

export interface PublishPipelineProps {
  /** The rule whose matching events are queued (its target is added here). */
  readonly rule: Rule;
  /** The publish handler: consumes the queue in batches and reports failed records. */
  readonly publishFunction: IFunction;
  /**
   * Where an event goes when EventBridge cannot queue it, or when the handler failed it
   * `maxReceiveCount` times. Both arrive with the EventBridge event envelope as the body, so one
   * redrive to the publish queue serves both.
   */
  readonly deadLetterQueue: IQueue;
  /** How long EventBridge keeps retrying to queue an event. */
  readonly maxEventAge: Duration;
  /**
   * The mapping's maximum concurrency: the publish function's reserved concurrency (2 to 1000),
   * validated with the other `SwitchboardApi` props.
   */
  readonly maxConcurrency: number;
}

export class PublishPipeline extends Construct {
  /** Events matched by the rule, waiting for the publish handler. */
  readonly queue: Queue;
  readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: PublishPipelineProps) {
    super(scope, id);

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(PUBLISH_PIPELINE.visibilityTimeoutSeconds),
      // Shorter than the dead-letter queue's 14 days: SQS keeps a message's first enqueue time
      // when it moves a message to a dead-letter queue, so the DLQ's retention must be the longer.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: props.deadLetterQueue, maxReceiveCount: PUBLISH_PIPELINE.maxReceiveCount },
      // No removal policy of its own (CDK deletes queues with the stack): a queue left behind
      // would have no consumer, and the events in it no subscribers.
    });

    // The body is the event envelope itself (no input transformer): the handler parses it as
    // EventBridge's SQS target sends it.
    props.rule.addTarget(
      new SqsQueue(this.queue, {
        retryAttempts: PUBLISH_TARGET_RETRY_ATTEMPTS,
        maxEventAge: props.maxEventAge,
        deadLetterQueue: props.deadLetterQueue,
      }),
    );

    // Grants the function sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility and the
    // queue attributes, on this queue only.
    this.eventSource = new SqsEventSource(this.queue, {
      batchSize: PUBLISH_PIPELINE.batchSize,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency,
    });
    props.publishFunction.addEventSource(this.eventSource);
  }
}
