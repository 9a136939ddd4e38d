/**
 * `EventQueue` on the publish queue (SQS): a client-published event is sent as the event JSON an
 * EventBridge SQS target would send, so the publish function reads it like any other.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventQueue } from '../core/ports.js';

export class SqsEventQueue implements EventQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly account: string,
    private readonly region: string,
  ) {}

  async put(event: Parameters<EventQueue['put']>[0]): Promise<void> {
    const envelope = {
      version: '0',
      ...event,
      account: this.account,
      region: this.region,
      resources: [],
    };
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(envelope) }),
    );
  }
}
