/**
 * `npm run redrive`'s core (cli/dead-letters.ts): the record shapes the dead-letter queue holds, and
 * what a run sends and deletes when SQS's batch calls succeed only in part. No network: the SQS
 * client is a script.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { readDeadLetter, redrive, UnreadableDeadLetterError } from '../../cli/dead-letters.js';

const envelope = (id: string, detail: Record<string, unknown> = { channel: 'news', data: 1 }) => ({
  version: '0',
  id,
  'detail-type': 'greeting',
  source: 'svc',
  account: '123456789012',
  time: '2026-11-21T12:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail,
});

/** What Lambda sends to an on-failure destination (Lambda developer guide, "invocation record"). */
const failureRecord = (requestPayload: unknown) => ({
  version: '1.0',
  timestamp: '2026-11-21T12:00:05.000Z',
  requestContext: {
    requestId: 'e4b46cbf-b738-4a31-a9f2-5e4bd4a9e0a5',
    functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:publish:$LATEST',
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'Error', errorMessage: 'boom' },
});

const sqsEvent = (...bodies: string[]) => ({
  Records: bodies.map((body, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${i}`,
    body,
    attributes: {},
    messageAttributes: {},
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:publish',
    awsRegion: 'eu-west-1',
  })),
});

describe('reading a dead letter', () => {
  it('reads a body that is the event itself (the queue redrive and the EventBridge target DLQ)', () => {
    const dead = readDeadLetter(JSON.stringify(envelope('ev-1')));
    expect(dead.shape).toBe('event');
    expect(dead.events).toEqual([envelope('ev-1')]);
  });

  it('reads a Lambda failure record whose request was the event', () => {
    const dead = readDeadLetter(JSON.stringify(failureRecord(envelope('ev-2'))));
    expect(dead.shape).toBe('lambda-failure-record');
    expect(dead.events).toEqual([envelope('ev-2')]);
  });

  it('reads a Lambda failure record whose request was an SQS batch of events, every one of them', () => {
    const body = JSON.stringify(
      failureRecord(sqsEvent(JSON.stringify(envelope('ev-3')), JSON.stringify(envelope('ev-4')))),
    );
    expect(readDeadLetter(body).events.map((event) => event.id)).toEqual(['ev-3', 'ev-4']);
  });

  it('keeps every field of the envelope, so the event is sent again as it was', () => {
    const event = { ...envelope('ev-5'), 'replay-name': 'x' };
    expect(JSON.parse(JSON.stringify(readDeadLetter(JSON.stringify(event)).events[0]))).toEqual(event);
  });

  it.each([
    ['text that is not JSON', 'hello', /the body is not JSON/],
    ['JSON that is not an event', '{"hello":1}', /the body is not an EventBridge event: id: .*detail/],
    ['an event without detail-type', JSON.stringify({ ...envelope('x'), 'detail-type': '' }), /detail-type/],
    ['an event whose detail is not an object', JSON.stringify(envelope('x', [] as never)), /detail/],
    ['a JSON array', '[]', /not an EventBridge event/],
    [
      'a failure record without its context',
      JSON.stringify({ requestPayload: envelope('x') }),
      /not a Lambda failure record: requestContext/,
    ],
    [
      'a failure record whose request is not an event',
      JSON.stringify(failureRecord({ hello: 1 })),
      /requestPayload is not an EventBridge event/,
    ],
    [
      'a failure record whose SQS batch holds a body that is not JSON',
      JSON.stringify(failureRecord(sqsEvent(JSON.stringify(envelope('ok')), 'garbage'))),
      /requestPayload\.Records\.1\.body is not JSON/,
    ],
    ['a failure record with an empty SQS batch', JSON.stringify(failureRecord({ Records: [] })), /Records/],
  ])('refuses %s, saying why', (_name, body, reason) => {
    expect(() => readDeadLetter(body)).toThrow(UnreadableDeadLetterError);
    expect(() => readDeadLetter(body)).toThrow(reason);
  });
});

/** A scripted SQS: the dead-letter queue's messages, and which sends and deletes fail. */
function scriptedSqs(bodies: string[], fails: { send?: (body: string) => boolean; delete?: string[] } = {}) {
  const queue: Message[] = bodies.map((Body, i) => ({
    MessageId: `msg-${i}`,
    ReceiptHandle: `rh-${i}`,
    Body,
  }));
  const sent: string[] = [];
  const deleted: string[] = [];
  const send = async (command: unknown) => {
    if (command instanceof ReceiveMessageCommand) {
      // Each message is received once: the run's visibility timeout outlasts the run.
      return { Messages: queue.splice(0, command.input.MaxNumberOfMessages ?? 1) };
    }
    if (command instanceof SendMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      const answer = batchAnswer(entries, (e) => fails.send?.(e.MessageBody ?? '') ?? false, 'InternalError');
      sent.push(...answer.done.map((e) => JSON.parse(e.MessageBody ?? '').id));
      return answer;
    }
    if (command instanceof DeleteMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      const answer = batchAnswer(
        entries,
        (e) => fails.delete?.includes(e.ReceiptHandle ?? '') ?? false,
        'ReceiptHandleIsInvalid',
      );
      deleted.push(...answer.done.map((e) => e.ReceiptHandle ?? ''));
      return answer;
    }
    throw new Error(`unexpected ${String(command)}`);
  };
  return { sqs: { send } as unknown as SQSClient, sent, deleted };
}

/** A batch call's answer when the entries that `fails` picks fail with `code`. */
function batchAnswer<T extends { Id?: string | undefined }>(
  entries: T[],
  fails: (entry: T) => boolean,
  code: string,
) {
  const done = entries.filter((e) => !fails(e));
  return {
    done,
    Successful: done.map((e) => ({ Id: e.Id })),
    Failed: entries.filter(fails).map((e) => ({ Id: e.Id, SenderFault: false, Code: code, Message: 'no' })),
  };
}

const urls = { deadLetterQueueUrl: 'http://sqs/000/dlq', publishQueueUrl: 'http://sqs/000/publish' };

describe('a redrive run', () => {
  it('sends each event id once and deletes every message that held it', async () => {
    // Prepare: the same event twice (once inside a failure record), and another.
    const one = JSON.stringify(envelope('ev-1'));
    const script = scriptedSqs([
      one,
      JSON.stringify(failureRecord(envelope('ev-1'))),
      JSON.stringify(envelope('ev-2')),
    ]);
    // Act
    const report = await redrive({ sqs: script.sqs, ...urls });
    // Assess
    expect(report).toEqual({ moved: ['ev-1', 'ev-2'], skippedDuplicates: 1, failures: [] });
    expect(script.sent).toEqual(['ev-1', 'ev-2']);
    expect(script.deleted).toEqual(['rh-0', 'rh-1', 'rh-2']);
  });

  it('keeps a message whose send failed, and deletes the others of the batch', async () => {
    // Prepare
    const script = scriptedSqs([JSON.stringify(envelope('ok')), JSON.stringify(envelope('refused'))], {
      send: (body) => body.includes('refused'),
    });
    // Act
    const report = await redrive({ sqs: script.sqs, ...urls });
    // Assess
    expect(report.moved).toEqual(['ok']);
    expect(report.failures).toEqual([
      { messageId: 'msg-1', reason: 'event refused not sent: InternalError: no' },
    ]);
    expect(script.deleted).toEqual(['rh-0']);
  });

  it('keeps a failure record whole when one of its events could not be sent', async () => {
    // Prepare
    const batch = sqsEvent(JSON.stringify(envelope('a')), JSON.stringify(envelope('refused')));
    const script = scriptedSqs([JSON.stringify(failureRecord(batch))], {
      send: (body) => body.includes('refused'),
    });
    // Act
    const report = await redrive({ sqs: script.sqs, ...urls });
    // Assess: "a" went (sending it again later is safe), the record stays for "refused".
    expect(report.moved).toEqual(['a']);
    expect(report.failures).toHaveLength(1);
    expect(script.deleted).toEqual([]);
  });

  it('reports a message sent but not deleted', async () => {
    const script = scriptedSqs([JSON.stringify(envelope('ev-1'))], { delete: ['rh-0'] });
    const report = await redrive({ sqs: script.sqs, ...urls });
    expect(report.moved).toEqual(['ev-1']);
    expect(report.failures).toEqual([
      {
        messageId: 'msg-0',
        reason: 'sent, but not deleted from the dead-letter queue (ReceiptHandleIsInvalid: no)',
      },
    ]);
  });

  it('leaves an unreadable message and moves the rest', async () => {
    const script = scriptedSqs(['garbage', JSON.stringify(envelope('ev-1'))]);
    const report = await redrive({ sqs: script.sqs, ...urls });
    expect(report.moved).toEqual(['ev-1']);
    expect(report.failures).toEqual([{ messageId: 'msg-0', reason: expect.stringMatching(/not JSON/) }]);
    expect(script.deleted).toEqual(['rh-1']);
  });

  it('in a dry run, reports what it would move and sends and deletes nothing', async () => {
    const script = scriptedSqs([JSON.stringify(envelope('ev-1')), JSON.stringify(envelope('ev-1'))]);
    const report = await redrive({ sqs: script.sqs, ...urls, dryRun: true });
    expect(report).toEqual({ moved: ['ev-1'], skippedDuplicates: 1, failures: [] });
    expect([...script.sent, ...script.deleted]).toEqual([]);
  });

  it('reads at most --max messages', async () => {
    const script = scriptedSqs(Array.from({ length: 25 }, (_, i) => JSON.stringify(envelope(`ev-${i}`))));
    const report = await redrive({ sqs: script.sqs, ...urls, max: 12 });
    expect(report.moved).toHaveLength(12);
    expect(script.deleted).toHaveLength(12);
  });
});
