/**
 * `FanoutPipeline`: the fan-out queue between publish and the fan-out workers (big channels and
 * broadcasts, `core/fanout.ts`).
 *
 *   publish ──▶ fan-out queue (SQS standard) ──▶ event source mapping ──▶ fan-out Lambda ─┐
 *                     ▲   │ (redrive after maxReceiveCount)                               │
 *                     │   └────────────▶ dead-letter queue                               │
 *                     └──── a worker's continuation, or its retry of failed connections ──┘
 *
 * Every number comes from `FANOUT_PIPELINE` (lambdas/publish-pipeline.ts), which the local stack
 * emulates too.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FANOUT_PIPELINE } from '../lambdas/publish-pipeline.js';

export interface FanoutPipelineProps {
  /** Where a task goes after failing `maxReceiveCount` times. */
  readonly deadLetterQueue: IQueue;
}

export class FanoutPipeline extends Construct {
  /** Shard tasks waiting for a fan-out worker. */
  readonly queue: Queue;

  constructor(scope: Construct, id: string, props: FanoutPipelineProps) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(FANOUT_PIPELINE.visibilityTimeoutSeconds),
      // Shorter than the dead-letter queue's retention, which counts from the first enqueue.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: props.deadLetterQueue, maxReceiveCount: FANOUT_PIPELINE.maxReceiveCount },
    });
  }

  /** Feeds the queue to the fan-out function, one task per invocation, partial batch responses. */
  consumeWith(fn: IFunction): SqsEventSource {
    const source = new SqsEventSource(this.queue, {
      batchSize: FANOUT_PIPELINE.batchSize,
      reportBatchItemFailures: true,
      maxConcurrency: FANOUT_PIPELINE.reservedConcurrency,
    });
    fn.addEventSource(source);
    return source;
  }
}
