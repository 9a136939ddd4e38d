/**
 * `FanoutQueue` on SQS: each task is one message (JSON), sent ten to a `SendMessageBatch` call,
 * SQS's limit per batch. A task holds no payload, only where the events are kept (channel and
 * seqs), so it stays far under SQS's 256 KB message limit whatever the events weigh.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FanoutQueue, FanoutTask } from '../core/ports.js';

const MAX_BATCH = 10;

/** Some tasks could not be queued; the caller's record is retried. */
export class FanoutQueueError extends Error {
  override readonly name = 'FanoutQueueError';
}

export class SqsFanoutQueue implements FanoutQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(tasks: readonly FanoutTask[]): Promise<void> {
    for (let i = 0; i < tasks.length; i += MAX_BATCH) {
      const part = tasks.slice(i, i + MAX_BATCH);
      const result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: part.map((task, j) => ({ Id: String(j), MessageBody: JSON.stringify(task) })),
        }),
      );
      if (result.Failed && result.Failed.length > 0) {
        throw new FanoutQueueError(
          `${result.Failed.length} of ${part.length} fan-out tasks not queued: ${result.Failed[0]?.Code ?? 'unknown'}`,
        );
      }
    }
  }
}
