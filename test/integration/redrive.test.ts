/**
 * `npm run redrive` against the real local stack: the command (run as `node --import tsx
 * cli/redrive.ts`, as npm runs it) moves dead letters back through publish, to the subscribers, with
 * the real SQS client on the local SQS endpoint. An event gets into the dead-letter queue the way it
 * does on AWS (the publish function failing every receive), or is put there as a record.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLISH_PIPELINE } from '../../lambdas/publish-pipeline.js';
import { LOCAL_QUEUE_NAMES } from '../../local/emulator/sqs-queue.js';
import { localCredentials } from '../support/dynamodb.js';
import { FaultControl, startFaultStack } from '../support/faults.js';
import { type RunningStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { type Message, TestClient } from '../support/ws-client.js';

const CHANNEL = 'replayed';

let stack: RunningStack;
let faults: FaultControl;
let bus: EventBridgeClient;
let sqs: SQSClient;
let deadLetterQueueUrl: string;
let subscriber: TestClient;

beforeAll(async () => {
  // Failed records show again 0.2 s later, so that an event is dead-lettered within a second.
  stack = await startFaultStack({ SWITCHBOARD_LOCAL_RETRY_SECONDS: '0.2' });
  faults = new FaultControl(stack.baseUrl);
  bus = eventBridge(stack.baseUrl);
  sqs = new SQSClient({ endpoint: stack.baseUrl, region: 'local', credentials: localCredentials });
  deadLetterQueueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: LOCAL_QUEUE_NAMES.deadLetters })))
    .QueueUrl as string;
  subscriber = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'alice' }) });
  expect(await subscriber.request({ action: 'subscribe', channel: CHANNEL })).toMatchObject({
    type: 'subscribed',
  });
});
afterAll(async () => {
  await subscriber?.close();
  bus?.destroy();
  sqs?.destroy();
  await stack?.stop();
});

/** Runs `npm run redrive -- …args` against the stack; resolves with its exit code and output. */
function redrive(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/redrive.ts', ...args],
      { env: { ...process.env, SWITCHBOARD_PORT: new URL(stack.baseUrl).port }, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Messages in the dead-letter queue, visible or not. */
async function deadLetters(): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['All'] }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
}

async function deadLetter(body: unknown): Promise<string> {
  const MessageBody = typeof body === 'string' ? body : JSON.stringify(body);
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody }));
  return MessageId as string;
}

/** An EventBridge event envelope for the channel, as the rule puts it on the publish queue. */
const envelope = (data: unknown) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'replay_test',
  source: 'tests',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'local',
  resources: [],
  detail: { channel: CHANNEL, data },
});

const eventWithId = (id: string) => (m: Message) => m.type === 'event' && m.id === id;

/** Proves a negative: an event published after `id`'s chance has arrived, and `id` did not. */
async function expectNotDelivered(id: string): Promise<void> {
  const marker = await publish(bus, { channel: CHANNEL, data: 'marker' });
  await subscriber.next(eventWithId(marker));
  expect(subscriber.pending().filter((m) => m.id === id)).toEqual([]);
}

describe('npm run redrive', () => {
  it('delivers an event that failed every publish attempt, with its seq, and leaves the queue empty', async () => {
    // Prepare: every receive of the event crashes the publish function, until SQS dead-letters it.
    await faults.set({ publish: { crashAfterPosts: 0, invocations: PUBLISH_PIPELINE.maxReceiveCount } });
    const id = await publish(bus, { channel: CHANNEL, data: 'late' });
    await expect.poll(deadLetters, { timeout: 10_000, interval: 100 }).toBe(1);
    await faults.clear();
    await expectNotDelivered(id);
    // Act
    const run = await redrive();
    // Assess
    expect(run).toMatchObject({
      code: 0,
      stdout: 'moved 1, skipped-duplicates 0, could-not 0\n',
      stderr: '',
    });
    // The crashed attempts numbered it already: the replay keeps that number (markers by event id).
    expect(await subscriber.next(eventWithId(id))).toMatchObject({ channel: CHANNEL, data: 'late', seq: 1 });
    expect(await deadLetters()).toBe(0);
  });

  it('moves nothing the second time', async () => {
    expect(await redrive()).toMatchObject({
      code: 0,
      stdout: 'moved 0, skipped-duplicates 0, could-not 0\n',
    });
  });

  it('moves the events of a Lambda failure record, and an event dead-lettered twice only once', async () => {
    // Prepare: a failure record of an SQS batch of two events, and the first event again on its own.
    const [first, second] = [envelope('first'), envelope('second')];
    await deadLetter({
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: 'arn:aws:lambda:local:000000000000:function:switchboard-publish',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { Records: [first, second].map((event) => ({ body: JSON.stringify(event) })) },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom' },
    });
    await deadLetter(first);
    // Act
    const run = await redrive();
    // Assess
    expect(run).toMatchObject({ code: 0, stdout: 'moved 2, skipped-duplicates 1, could-not 0\n' });
    expect(await subscriber.next(eventWithId(first.id))).toMatchObject({ data: 'first' });
    expect(await subscriber.next(eventWithId(second.id))).toMatchObject({ data: 'second' });
    expect(await deadLetters()).toBe(0);
    await expectNotDelivered(first.id);
  });

  it('with --dry-run, says what it would move and moves nothing', async () => {
    // Prepare
    const event = envelope('dry');
    await deadLetter(event);
    // Act
    const run = await redrive('--dry-run');
    // Assess
    expect(run).toMatchObject({
      code: 0,
      stdout: `would move event ${event.id}\ndry run, nothing sent or deleted: would move 1, skipped-duplicates 0, could-not 0\n`,
    });
    await expectNotDelivered(event.id);
    expect(await deadLetters()).toBe(1);
    // What the dry run read shows again within seconds, and a real run then moves it.
    await expect
      .poll(async () => (await redrive()).stdout, { timeout: 10_000, interval: 500 })
      .toBe('moved 1, skipped-duplicates 0, could-not 0\n');
    expect(await subscriber.next(eventWithId(event.id))).toMatchObject({ data: 'dry' });
  });

  // Last: what a run leaves stays invisible for its visibility timeout.
  it('reports each message it cannot read, leaves it in the queue, moves the rest and exits 1', async () => {
    // Prepare
    const notJson = await deadLetter('not an event');
    const notEvent = await deadLetter({ hello: 'world' });
    const good = envelope('good');
    await deadLetter(good);
    // Act
    const run = await redrive();
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('moved 1, skipped-duplicates 0, could-not 2\n');
    expect(run.stderr).toContain(`could not move message ${notJson}: the body is not JSON`);
    expect(run.stderr).toContain(`could not move message ${notEvent}: the body is not an EventBridge event`);
    expect(await subscriber.next(eventWithId(good.id))).toMatchObject({ data: 'good' });
    expect(await deadLetters()).toBe(2);
  });
});
