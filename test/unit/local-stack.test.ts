/**
 * `startLocalStack` composed on one loopback port, with stand-in handlers injected (the real ones
 * are exercised by test/integration through `npm start`), against the suite's DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LambdaHandler } from '../../local/emulator/lambda-runtime.js';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';
import { silentLog } from '../../local/log.js';
import { dynamodbEndpoint } from '../support/dynamodb.js';

const processEnv = { ...process.env };
const env = { ...process.env, SWITCHBOARD_AUTH_SECRET: 'a-test-secret-that-is-at-least-32-bytes' };
const published: unknown[] = [];
const handler = (fn: (event: never) => unknown) => fn as LambdaHandler;
let stack: LocalStack;

const standIns = {
  connect: handler(() => ({ statusCode: 200 })),
  disconnect: handler(() => ({ statusCode: 200 })),
  subscribe: handler(() => ({ statusCode: 200, body: 'subscribed' })),
  unsubscribe: handler(() => ({ statusCode: 200 })),
  ping: handler(() => ({ statusCode: 200, body: 'pong' })),
  default: handler((event: { body: string }) => ({ statusCode: 200, body: `default:${event.body}` })),
  publish: handler((event: { Records: { body: string }[] }) => {
    for (const record of event.Records) published.push(JSON.parse(record.body));
  }),
  fanout: handler(() => ({ batchItemFailures: [] })),
  sweep: handler(() => undefined),
  auth: handler(() => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: '{"ok":true}',
  })),
};

const start = () =>
  startLocalStack({
    env,
    port: 0,
    dynamodbEndpoint: dynamodbEndpoint(),
    tableName: `local-stack-${randomUUID()}`,
    log: silentLog,
    handlers: standIns,
  });

beforeAll(async () => {
  stack = await start();
});

afterAll(async () => {
  await stack?.close();
});

describe('the local stack on one port', () => {
  it('builds the handlers’ configuration from its endpoints, leaving process.env as it was', () => {
    expect(stack.handlerConfig).toMatchObject({
      callbackUrl: stack.endpoints.management,
      dynamodbEndpoint: stack.endpoints.dynamodb,
      aws: { region: 'local' },
    });
    expect(stack.endpoints.websocket).toBe(`ws://127.0.0.1:${stack.port}/ws`);
    expect(process.env).toEqual(processEnv);
  });

  it('serves the WebSocket API, the token exchange and PutEvents side by side', async () => {
    // Prepare
    const socket = new WebSocket(stack.endpoints.websocket);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const reply = new Promise<string>((resolve) =>
      socket.once('message', (data) => resolve(data.toString())),
    );
    const events = new EventBridgeClient({
      endpoint: stack.endpoints.eventBridge,
      region: 'local',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    // Act
    socket.send('{"action":"ping"}');
    const auth = await fetch(stack.endpoints.auth, { method: 'POST' });
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 't', Detail: '{"channel":"news"}' }] }),
    );
    await stack.settled();
    const missing = await fetch(`http://127.0.0.1:${stack.port}/nowhere`);
    // Assess
    expect(await reply).toBe('pong');
    expect(await auth.json()).toEqual({ ok: true });
    expect(published).toMatchObject([{ id: put.Entries?.[0]?.EventId, detail: { channel: 'news' } }]);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Not Found' });
    socket.terminate();
    events.destroy();
  });

  it('runs a second stack beside the first, each on its own port with its own endpoints', async () => {
    const second = await start();
    try {
      expect(second.port).not.toBe(stack.port);
      expect(second.handlerConfig.callbackUrl).toBe(second.endpoints.management);
      expect(stack.handlerConfig.callbackUrl).toBe(stack.endpoints.management);
      const [first, other] = await Promise.all(
        [stack, second].map((s) => fetch(`http://127.0.0.1:${s.port}/nowhere`).then((r) => r.status)),
      );
      expect([first, other]).toEqual([404, 404]);
    } finally {
      await second.close();
    }
  });
});
