/**
 * Lambda's SQS event source mapping, locally: pollers receive batches from the queue and invoke
 * the function synchronously with an `SQSEvent`, as Lambda does ("Using Lambda with Amazon SQS"):
 * - at most `maxConcurrency` invocations at once (the mapping's maximum concurrency);
 * - a batch whose invocation succeeds is deleted, except the records the function names in
 *   `batchItemFailures` ("Implementing partial batch responses"); a response that is not a valid
 *   partial batch response, a thrown error or a timeout fails the whole batch;
 * - a failed record is not deleted: it shows again when its visibility timeout ends, with a higher
 *   receive count, and the queue's redrive policy moves it to the dead-letter queue in the end.
 *
 * One local difference, documented in docs/local-stack.md: on AWS a received batch stays invisible for the
 * queue's whole visibility timeout (six function timeouts), which is also the wait before a retry.
 * Locally a batch stays invisible while its invocation runs, and a failed record shows again
 * `retryDelayMs` after the invocation ends, so that retries take seconds, not minutes.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { type LocalLog, silentLog } from '../log.js';
import type { LocalFunction } from './lambda-runtime.js';
import type { LocalQueue, QueueMessage } from './sqs-queue.js';

export interface SqsEventSourceProps {
  readonly queue: LocalQueue;
  readonly fn: LocalFunction;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  /** The wait before a failed record shows again. */
  readonly retryDelayMs: number;
  readonly region: string;
  /** Told when a batch ends: its records, and the ids of those that will be retried. @default none */
  readonly onBatch?: (records: readonly QueueMessage[], failed: ReadonlySet<string>) => void;
  /** @default silent */
  readonly log?: LocalLog;
}

/** How long a running batch is kept invisible at a time; renewed while it runs. */
const RUNNING_VISIBILITY_MS = 60_000;

export class SqsEventSource {
  private readonly props: SqsEventSourceProps;
  private readonly log: LocalLog;
  private readonly pollers: Promise<void>[];
  private readonly running = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(props: SqsEventSourceProps) {
    this.props = props;
    this.log = props.log ?? silentLog;
    this.pollers = Array.from({ length: props.maxConcurrency }, () => this.poll());
  }

  /** True when the queue is empty and no batch is running. */
  get idle(): boolean {
    return this.props.queue.size === 0 && this.running.size === 0;
  }

  /** Resolves once the queue is empty and no batch is running. */
  async drained(): Promise<void> {
    while (this.props.queue.size > 0 || this.running.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops polling and waits for the batches that are running. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.props.queue.close();
    await Promise.all(this.pollers);
  }

  private async poll(): Promise<void> {
    const { queue, batchSize } = this.props;
    while (!this.stopping) {
      const batch = queue.receive(batchSize, RUNNING_VISIBILITY_MS);
      if (batch.length === 0) {
        // Long polling: wake on a new message (or one showing again), at the latest after 20 s.
        await queue.waitForMessages(20_000);
        continue;
      }
      const run = this.run(batch);
      this.running.add(run);
      await run;
      this.running.delete(run);
    }
  }

  private async run(batch: QueueMessage[]): Promise<void> {
    const { queue, fn, retryDelayMs } = this.props;
    const keepInvisible = setInterval(() => {
      for (const message of batch) queue.changeVisibility(message.receiptHandle, RUNNING_VISIBILITY_MS);
    }, RUNNING_VISIBILITY_MS / 2);
    let failed: Set<string>;
    try {
      const response = await fn.invoke(this.event(batch));
      failed = this.failedIds(response, batch);
    } catch (error) {
      this.log.warn(
        `${fn.name} failed on a batch of ${batch.length} from ${queue.name}: ${error instanceof Error ? error.message : String(error)}; its records show again in ${retryDelayMs} ms`,
      );
      failed = new Set(batch.map((m) => m.messageId));
    } finally {
      clearInterval(keepInvisible);
    }
    for (const message of batch) {
      if (failed.has(message.messageId)) queue.changeVisibility(message.receiptHandle, retryDelayMs);
      else queue.delete(message.receiptHandle);
    }
    if (failed.size > 0 && failed.size < batch.length) {
      this.log.warn(
        `${fn.name} reported ${failed.size} of ${batch.length} records failed; they will be retried`,
      );
    }
    this.props.onBatch?.(batch, failed);
  }

  /**
   * The records to retry. AWS: an empty or null `batchItemFailures` means success; an item
   * identifier that is empty, null or not in the batch fails the whole batch.
   */
  private failedIds(response: unknown, batch: readonly QueueMessage[]): Set<string> {
    const all = new Set(batch.map((m) => m.messageId));
    if (response === null || response === undefined || typeof response !== 'object') return new Set();
    const items = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (items === null || items === undefined) return new Set();
    if (!Array.isArray(items)) return all;
    const failed = new Set<string>();
    for (const item of items) {
      const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || !all.has(id)) return all;
      failed.add(id);
    }
    return failed;
  }

  private event(batch: readonly QueueMessage[]): SQSEvent {
    const { queue, region } = this.props;
    return {
      Records: batch.map(
        (message): SQSRecord => ({
          messageId: message.messageId,
          receiptHandle: message.receiptHandle,
          body: message.body,
          attributes: {
            ApproximateReceiveCount: String(message.receiveCount),
            SentTimestamp: String(message.sentAt),
            SenderId: 'AIDAIENQZJOLO23YVJ4VO',
            ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
          },
          messageAttributes: {},
          md5OfBody: message.md5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: queue.arn,
          awsRegion: region,
        }),
      ),
    };
  }
}
