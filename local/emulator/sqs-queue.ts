/**
 * An SQS standard queue, in memory: what the local publish pipeline needs of SQS, with its
 * semantics ("Amazon SQS visibility timeout", "Using dead-letter queues in Amazon SQS"):
 * - a received message stays in the queue, invisible, until it is deleted or its visibility
 *   timeout ends, and is then received again with its `ApproximateReceiveCount` one higher;
 * - a message received `maxReceiveCount` times and not deleted moves to the dead-letter queue
 *   when it would be received once more (the redrive policy);
 * - order is not kept after a retry, as in a standard queue.
 */
import { createHash } from 'node:crypto';
import { uuid } from './aws-ids.js';

/** The local queues' names: `npm run redrive` finds them with `GetQueueUrl`. */
export const LOCAL_QUEUE_NAMES = {
  publish: 'switchboard-publish',
  deadLetters: 'switchboard-dead-letters',
} as const;

/** One message as SQS holds it. */
export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  /** Epoch ms of the first send. */
  readonly sentAt: number;
  /** Epoch ms of the first receive (0 until then). */
  firstReceivedAt: number;
  receiveCount: number;
  /** Epoch ms until which the message is not received. */
  invisibleUntil: number;
  /** Changes on every receive; only the latest one deletes or changes visibility. */
  receiptHandle: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface LocalQueueProps {
  readonly name: string;
  readonly region: string;
  readonly account: string;
  /** @default 30 s (SQS's default) */
  readonly visibilityTimeoutMs?: number;
  /** Told about every message sent to this queue (the dashboard watches the dead letters). @default none */
  readonly onSend?: (body: string) => void;
  /** Where messages go after `maxReceiveCount` receives. @default none: they stay */
  readonly deadLetter?: { readonly queue: LocalQueue; readonly maxReceiveCount: number };
}

export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  readonly visibilityTimeoutMs: number;
  private readonly messages = new Map<string, QueueMessage>();
  private readonly waiters = new Set<() => void>();
  private readonly props: LocalQueueProps;

  constructor(props: LocalQueueProps) {
    this.props = props;
    this.name = props.name;
    this.arn = `arn:aws:sqs:${props.region}:${props.account}:${props.name}`;
    this.visibilityTimeoutMs = props.visibilityTimeoutMs ?? 30_000;
  }

  /** `SendMessage`: returns the new message. */
  send(body: string, attributes: Readonly<Record<string, string>> = {}): QueueMessage {
    const messageId = uuid();
    const message: QueueMessage = {
      messageId,
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      sentAt: Date.now(),
      firstReceivedAt: 0,
      receiveCount: 0,
      invisibleUntil: 0,
      receiptHandle: '',
      attributes,
    };
    this.messages.set(messageId, message);
    this.props.onSend?.(body);
    this.wake();
    return message;
  }

  /**
   * `ReceiveMessage`: up to `max` visible messages, made invisible for `visibilityTimeoutMs`.
   * Those past their redrive policy's receive count move to the dead-letter queue instead.
   */
  receive(max: number, visibilityTimeoutMs = this.visibilityTimeoutMs): QueueMessage[] {
    const now = Date.now();
    const out: QueueMessage[] = [];
    for (const message of this.messages.values()) {
      if (out.length >= max) break;
      if (message.invisibleUntil > now) continue;
      const redrive = this.props.deadLetter;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.messages.delete(message.messageId);
        redrive.queue.send(message.body, message.attributes);
        continue;
      }
      message.receiveCount += 1;
      if (message.firstReceivedAt === 0) message.firstReceivedAt = now;
      message.invisibleUntil = now + visibilityTimeoutMs;
      message.receiptHandle = `${message.messageId}#${uuid()}`;
      out.push(message);
    }
    if (out.length > 0 || this.nextVisibleAt() === undefined) return out;
    // Something is invisible for a while: wake the pollers when it shows again.
    this.scheduleWake();
    return out;
  }

  /** `DeleteMessage`; false for an unknown or outdated receipt handle. */
  delete(receiptHandle: string): boolean {
    const message = this.byReceipt(receiptHandle);
    if (!message) return false;
    this.messages.delete(message.messageId);
    return true;
  }

  /** `ChangeMessageVisibility`: the message shows again `ms` from now. */
  changeVisibility(receiptHandle: string, ms: number): boolean {
    const message = this.byReceipt(receiptHandle);
    if (!message) return false;
    message.invisibleUntil = Date.now() + ms;
    if (ms === 0) this.wake();
    else this.scheduleWake();
    return true;
  }

  /** Resolves when a message may be visible (or after `ms`): a long poll. */
  waitForMessages(ms: number): Promise<void> {
    if (this.visibleCount() > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Messages in the queue, visible or not (`ApproximateNumberOfMessages` + `...NotVisible`). */
  get size(): number {
    return this.messages.size;
  }

  visibleCount(now = Date.now()): number {
    let count = 0;
    for (const message of this.messages.values()) if (message.invisibleUntil <= now) count += 1;
    return count;
  }

  /** Every message, oldest first (for the dashboard and tests; SQS itself has no such call). */
  peek(): readonly QueueMessage[] {
    return [...this.messages.values()];
  }

  /** Drops every waiter (shutdown). */
  close(): void {
    for (const wake of [...this.waiters]) wake();
    clearTimeout(this.wakeTimer);
  }

  private wakeTimer: NodeJS.Timeout | undefined;

  private scheduleWake(): void {
    const next = this.nextVisibleAt();
    if (next === undefined) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()) + 1);
    this.wakeTimer.unref();
  }

  private nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const message of this.messages.values()) {
      if (next === undefined || message.invisibleUntil < next) next = message.invisibleUntil;
    }
    return next;
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private byReceipt(receiptHandle: string): QueueMessage | undefined {
    const messageId = receiptHandle.split('#')[0] ?? '';
    const message = this.messages.get(messageId);
    return message?.receiptHandle === receiptHandle ? message : undefined;
  }
}
