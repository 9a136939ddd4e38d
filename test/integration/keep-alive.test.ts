/**
 * Keeping a connection alive costs no compute (docs/design/keep-alive.md): a `keepalive` reaches
 * no function and no table, and answers nothing; a `ping` still answers `pong` with its `id` (PROTOCOL
 * §4) and reaches no table. The local stack's meter (`GET /local/meter`) counts what AWS would
 * bill: invocations by function and DynamoDB requests by operation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterReading } from '../../local/emulator/meter.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let client: TestClient | undefined;

beforeAll(async () => {
  // No sweep run inside the test: it would read the table.
  stack = await startStack({ SWITCHBOARD_SWEEP_INTERVAL_SECONDS: '3600' });
});
afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

async function meter(): Promise<MeterReading> {
  const response = await fetch(`${stack.baseUrl}/local/meter`);
  expect(response.status).toBe(200);
  return (await response.json()) as MeterReading;
}

/** What changed between two readings, zeros left out. */
function spent(before: MeterReading, after: MeterReading) {
  const diff = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
    Object.fromEntries(
      Object.entries(b)
        .map(([key, n]) => [key, n - (a[key] ?? 0)] as const)
        .filter(([, n]) => n !== 0),
    );
  return {
    invocations: diff(before.invocations, after.invocations),
    dynamodb: diff(before.dynamodb, after.dynamodb),
    messages: diff(before.messages, after.messages),
  };
}

describe('keeping a connection alive', () => {
  it('a keepalive reaches no function and no table, and nothing comes back', async () => {
    // Prepare
    client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'idle' }) });
    await client.request({ action: 'whoami' }, 'connected');
    const before = await meter();
    // Act: three keep-alives, then a ping to know they were all handled (one connection's
    // messages are handled in order locally).
    for (let i = 0; i < 3; i++) client.send({ action: 'keepalive' });
    const pong = await client.request({ action: 'ping', id: 'x' }, 'pong');
    const after = await meter();
    // Assess
    expect(spent(before, after)).toEqual({
      invocations: { 'switchboard-ping': 1 },
      dynamodb: {},
      messages: { keepalive: 3, ping: 1 },
    });
    expect(pong).toMatchObject({ type: 'pong', id: 'x' });
    expect(Date.parse(String(pong.timestamp))).toBeGreaterThan(0);
    expect(client.pending()).toEqual([]);
  });

  it('a ping in the type style lands on $default and reaches no table either', async () => {
    // Prepare
    client ??= await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'idle' }) });
    const before = await meter();
    // Act
    const pong = await client.request({ type: 'ping', id: 'y' }, 'pong');
    const after = await meter();
    // Assess
    expect(pong).toMatchObject({ type: 'pong', id: 'y' });
    expect(spent(before, after)).toEqual({
      invocations: { 'switchboard-default': 1 },
      dynamodb: {},
      messages: { $default: 1 },
    });
  });

  it('any other message still reads and writes the connection (admission and its rate bucket)', async () => {
    // Prepare
    client ??= await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'idle' }) });
    const before = await meter();
    // Act
    await client.request({ action: 'whoami' }, 'connected');
    const after = await meter();
    // Assess: one GetItem, one UpdateItem of the bucket, and no index write with it.
    expect(spent(before, after).dynamodb).toEqual({ GetItem: 1, UpdateItem: 1 });
  });
});
