/**
 * Dead letters back through publish (`npm run redrive`, cli/redrive.ts): reading the record shapes
 * the dead-letter queue holds, and moving their events to the publish queue.
 *
 * The dead-letter queue (lambdas/publish-pipeline.ts) receives:
 * - the publish queue's messages after `maxReceiveCount` receives, and the EventBridge rule
 *   target's undeliverable events: the body is the event envelope (EventBridge's target DLQ adds
 *   message attributes such as `ERROR_CODE`; the body stays the event);
 * - Lambda failure-destination records `{version, timestamp, requestContext, requestPayload,
 *   responseContext, responsePayload}`, whose `requestPayload` is the envelope (an asynchronous
 *   invocation by the rule) or an SQS event whose `Records[].body` are envelopes.
 *
 * SQS's own redrive (`StartMessageMoveTask`) would move the bodies unchanged: the failure records
 * would reach the publish function unreadable. Sending an envelope again is safe: events are
 * numbered once per event id (adapters/dynamo-history.ts), so a replayed event keeps its seq.
 */
import {
  type BatchResultErrorEntry,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';

/** What publish needs of an EventBridge event; every other field is kept as it is. */
export const eventEnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  detail: z.record(z.string(), z.unknown()),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

const failureRecordSchema = z.looseObject({
  requestContext: z.looseObject({
    requestId: z.string(),
    functionArn: z.string(),
    condition: z.string(),
    approximateInvokeCount: z.number(),
  }),
  requestPayload: z.unknown(),
});

const sqsEventSchema = z.looseObject({
  Records: z.array(z.looseObject({ body: z.string() })).min(1),
});

export type DeadLetterShape = 'event' | 'lambda-failure-record';

export interface DeadLetter {
  readonly shape: DeadLetterShape;
  /** One for an event; one per record for a failure record of an SQS batch. */
  readonly events: readonly EventEnvelope[];
}

/** A dead-letter message that holds no event publish could read; it stays in the queue. */
export class UnreadableDeadLetterError extends Error {
  override readonly name = 'UnreadableDeadLetterError';
}

/**
 * The events in a dead-letter message's body, whichever shape it has. Throws
 * `UnreadableDeadLetterError` naming the first thing wrong: a message is moved whole or not at all.
 */
export function readDeadLetter(body: string): DeadLetter {
  const value = parseJson(body, 'the body');
  if (isObject(value) && ('requestContext' in value || 'requestPayload' in value)) {
    const record = failureRecordSchema.safeParse(value);
    if (!record.success) {
      throw new UnreadableDeadLetterError(`not a Lambda failure record: ${issues(record.error)}`);
    }
    return { shape: 'lambda-failure-record', events: eventsOfPayload(record.data.requestPayload) };
  }
  return { shape: 'event', events: [envelope(value, 'the body')] };
}

function eventsOfPayload(payload: unknown): EventEnvelope[] {
  if (!isObject(payload) || !('Records' in payload)) return [envelope(payload, 'requestPayload')];
  const sqsEvent = sqsEventSchema.safeParse(payload);
  if (!sqsEvent.success) {
    throw new UnreadableDeadLetterError(`requestPayload is not an SQS event: ${issues(sqsEvent.error)}`);
  }
  return sqsEvent.data.Records.map((record, i) => {
    const where = `requestPayload.Records.${i}.body`;
    return envelope(parseJson(record.body, where), where);
  });
}

function envelope(value: unknown, where: string): EventEnvelope {
  const parsed = eventEnvelopeSchema.safeParse(value);
  if (!parsed.success) {
    throw new UnreadableDeadLetterError(`${where} is not an EventBridge event: ${issues(parsed.error)}`);
  }
  return parsed.data;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UnreadableDeadLetterError(`${where} is not JSON: ${JSON.stringify(text.slice(0, 40))}`);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const issues = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');

// ---- Moving ------------------------------------------------------------------------------------

/** SQS's most entries per batch call. */
const MAX_BATCH = 10;
/** A batch call's bodies, together: SQS's long-standing limit (queues made before 2025 keep it). */
const MAX_BATCH_BYTES = 256 * 1024;
/**
 * How long a received dead letter stays invisible: enough for its batch's send and delete with the
 * SDK's retries, so that no other reader takes it meanwhile. What a run leaves shows again then.
 */
export const VISIBILITY_SECONDS = 60;
/** A dry run moves nothing: what it read shows again soon (the local SQS has no ChangeMessageVisibility). */
export const DRY_RUN_VISIBILITY_SECONDS = 5;
/** Long polling: SQS asks all its servers, so an empty answer means the queue has nothing visible. */
const WAIT_SECONDS = 2;

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly deadLetterQueueUrl: string;
  readonly publishQueueUrl: string;
  /** Read and report; send and delete nothing. @default false */
  readonly dryRun?: boolean;
  /** Dead-letter messages to read at most. @default all */
  readonly max?: number;
}

export interface RedriveFailure {
  /** The dead-letter message left in the queue. */
  readonly messageId: string;
  readonly reason: string;
}

export interface RedriveReport {
  /** Event ids sent to the publish queue (in a dry run: that would be). */
  readonly moved: string[];
  /** Events not sent again because their id was sent earlier in the run; their messages are deleted. */
  skippedDuplicates: number;
  /** Dead-letter messages left in the queue, and why. */
  readonly failures: RedriveFailure[];
}

/** A call to SQS failed and the run stopped; `report` says what it had done. */
export class RedriveError extends Error {
  override readonly name = 'RedriveError';
  constructor(
    message: string,
    readonly report: RedriveReport,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Moves the dead-letter queue's events to the publish queue, each event id once per run, in batches
 * of ten messages. A message is deleted only once every event in it is sent; one that cannot be
 * read or sent stays, and is reported.
 */
export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  const report: RedriveReport = { moved: [], skippedDuplicates: 0, failures: [] };
  const sent = new Set<string>();
  const read = new Set<string>();
  const max = options.max ?? Number.POSITIVE_INFINITY;
  try {
    while (read.size < max) {
      const { Messages = [] } = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(MAX_BATCH, max - read.size),
          VisibilityTimeout: options.dryRun ? DRY_RUN_VISIBILITY_SECONDS : VISIBILITY_SECONDS,
          WaitTimeSeconds: WAIT_SECONDS,
        }),
      );
      // A message read before shows again once its visibility ends (a dry run, a long run): the
      // queue has been gone through.
      const fresh = Messages.filter((m) => !read.has(m.MessageId ?? ''));
      if (fresh.length === 0) break;
      for (const message of fresh) read.add(message.MessageId ?? '');
      await redriveBatch(fresh, options, sent, report);
    }
  } catch (error) {
    throw new RedriveError(`stopped: ${(error as Error).message}`, report, { cause: error });
  }
  return report;
}

async function redriveBatch(
  messages: readonly Message[],
  options: RedriveOptions,
  sent: Set<string>,
  report: RedriveReport,
): Promise<void> {
  const fail = (message: Message, reason: string) =>
    report.failures.push({ messageId: message.MessageId ?? '(no id)', reason });
  const readable: { message: Message; events: readonly EventEnvelope[] }[] = [];
  for (const message of messages) {
    try {
      readable.push({ message, events: readDeadLetter(message.Body ?? '').events });
    } catch (error) {
      if (!(error instanceof UnreadableDeadLetterError)) throw error;
      fail(message, error.message);
    }
  }
  // The first copy of each event id not sent yet in this run.
  const toSend = new Map<string, EventEnvelope>();
  for (const { events } of readable) {
    for (const event of events) if (!sent.has(event.id) && !toSend.has(event.id)) toSend.set(event.id, event);
  }
  const sendErrors = options.dryRun ? new Map<string, string>() : await send([...toSend.values()], options);
  for (const id of toSend.keys()) {
    if (sendErrors.has(id)) continue;
    sent.add(id);
    report.moved.push(id);
  }
  const done: Message[] = [];
  for (const { message, events } of readable) {
    const unsent = events.find((event) => !sent.has(event.id));
    if (unsent) {
      fail(message, `event ${unsent.id} not sent: ${sendErrors.get(unsent.id)}`);
      continue;
    }
    report.skippedDuplicates += events.filter((event) => toSend.get(event.id) !== event).length;
    done.push(message);
  }
  if (options.dryRun || done.length === 0) return;
  const deleteErrors = await remove(done, options);
  for (const message of done) {
    const error = deleteErrors.get(message);
    if (error) fail(message, `sent, but not deleted from the dead-letter queue (${error})`);
  }
}

/** Sends the events to the publish queue; returns the reason of each event id not sent. */
async function send(events: readonly EventEnvelope[], options: RedriveOptions): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  for (const batch of sendBatches(events)) {
    const failed = await eachEntry(batch, 'SendMessageBatch', () =>
      options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.publishQueueUrl,
          Entries: batch.map(({ body }, i) => ({ Id: String(i), MessageBody: body })),
        }),
      ),
    );
    for (const [{ id }, reason] of failed) errors.set(id, reason);
  }
  return errors;
}

/** Up to ten bodies and `MAX_BATCH_BYTES` together per call (a larger body goes alone, and SQS judges it). */
function sendBatches(events: readonly EventEnvelope[]): { id: string; body: string }[][] {
  const batches: { id: string; body: string }[][] = [];
  let batch: { id: string; body: string }[] = [];
  let bytes = 0;
  for (const event of events) {
    const body = JSON.stringify(event);
    const size = Buffer.byteLength(body);
    if (batch.length === MAX_BATCH || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ id: event.id, body });
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Deletes the messages (at most ten); returns the reason of each one not deleted. */
function remove(messages: readonly Message[], options: RedriveOptions): Promise<Map<Message, string>> {
  return eachEntry(messages, 'DeleteMessageBatch', () =>
    options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.deadLetterQueueUrl,
        Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
      }),
    ),
  );
}

interface BatchAnswer {
  readonly Successful?: readonly { readonly Id?: string | undefined }[] | undefined;
  readonly Failed?: readonly BatchResultErrorEntry[] | undefined;
}

/**
 * Runs a batch call whose entry ids are the items' indexes, and returns the reason of each item it
 * did not do: batch calls succeed entry by entry, and the whole call can fail too.
 */
async function eachEntry<T>(
  items: readonly T[],
  call: string,
  run: () => Promise<BatchAnswer>,
): Promise<Map<T, string>> {
  const errors = new Map<T, string>();
  try {
    const { Successful = [], Failed = [] } = await run();
    const done = new Set(Successful.map((entry) => entry.Id));
    const failed = new Map(Failed.map((entry) => [entry.Id, entry]));
    items.forEach((item, i) => {
      if (done.has(String(i))) return;
      const entry = failed.get(String(i));
      errors.set(item, entry ? `${entry.Code}: ${entry.Message ?? ''}` : `not in the ${call} answer`);
    });
  } catch (error) {
    for (const item of items) errors.set(item, `${call} failed: ${(error as Error).message}`);
  }
  return errors;
}
