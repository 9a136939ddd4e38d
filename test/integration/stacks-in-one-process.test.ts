/**
 * Two local stacks in one process, each with its own settings (issue 11): the stack builds every
 * handler with its module's `createHandler` from the configuration it computes, and writes nothing
 * into `process.env`, so one stack's settings cannot leak into the other's handlers. The real
 * handlers run here (in-process, as `npm start` runs them), against the suite's DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';
import { silentLog } from '../../local/log.js';
import { dynamodbEndpoint } from '../support/dynamodb.js';
import { TEST_SECRET, tokenFor } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

const processEnv = { ...process.env };
const stacks: LocalStack[] = [];
const clients: TestClient[] = [];

/** A stack whose handlers allow `maxSubscriptions` subscriptions per connection. */
function start(maxSubscriptions: number): Promise<LocalStack> {
  return startLocalStack({
    env: {
      ...process.env,
      SWITCHBOARD_AUTH_SECRET: TEST_SECRET,
      SWITCHBOARD_MAX_SUBSCRIPTIONS: String(maxSubscriptions),
    },
    port: 0,
    dynamodbEndpoint: dynamodbEndpoint(),
    tableName: `two-stacks-${randomUUID()}`,
    // The sweep is not what this is about.
    sweepIntervalSeconds: 3600,
    log: silentLog,
  });
}

async function connect(stack: LocalStack, sub: string): Promise<TestClient> {
  const client = await TestClient.connect(stack.endpoints.websocket, { token: await tokenFor({ sub }) });
  clients.push(client);
  return client;
}

/** Subscribes to `count` channels in turn and returns each reply's type. */
async function subscribeTo(client: TestClient, count: number): Promise<unknown[]> {
  const types: unknown[] = [];
  for (let i = 1; i <= count; i += 1) {
    types.push((await client.request({ action: 'subscribe', channel: `c${i}` })).type);
  }
  return types;
}

beforeAll(async () => {
  // One after the other, then both running at once.
  stacks.push(await start(1));
  stacks.push(await start(3));
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(stacks.map((stack) => stack.close()));
});

describe('two local stacks in one process', () => {
  it('each keeps its own settings: its handlers enforce its own subscription limit', async () => {
    // Prepare
    const [one, three] = stacks as [LocalStack, LocalStack];
    const onOne = await connect(one, 'ada');
    const onThree = await connect(three, 'ada');
    // Act: the second stack started last; the first must not have taken its settings.
    const fromThree = await subscribeTo(onThree, 4);
    const fromOne = await subscribeTo(onOne, 2);
    // Assess
    expect(fromOne).toEqual(['subscribed', 'error']);
    expect(fromThree).toEqual(['subscribed', 'subscribed', 'subscribed', 'error']);
    expect(one.handlerConfig.maxSubscriptions).toBe(1);
    expect(three.handlerConfig.maxSubscriptions).toBe(3);
  });

  it('each stack’s handlers reach its own endpoints, and process.env is left as it was', () => {
    const [one, three] = stacks as [LocalStack, LocalStack];
    expect(one.handlerConfig.callbackUrl).toBe(one.endpoints.management);
    expect(three.handlerConfig.callbackUrl).toBe(three.endpoints.management);
    expect(one.handlerConfig.tableName).not.toBe(three.handlerConfig.tableName);
    expect(process.env).toEqual(processEnv);
  });
});
