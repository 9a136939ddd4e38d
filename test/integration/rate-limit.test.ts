/**
 * Per-connection rate limiting end to end: `rate_limited` replies, recovery, and closing abusers.
 * Every message that reaches the table counts (`whoami` here); `ping` does not: it is answered from
 * the message alone, with no read of the bucket (docs/design/keep-alive.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { type Message, TestClient } from '../support/ws-client.js';

let stack: RunningStack;

beforeAll(async () => {
  stack = await startStack({
    SWITCHBOARD_RATE_LIMIT_BURST: '5',
    SWITCHBOARD_RATE_LIMIT_PER_SECOND: '2',
    SWITCHBOARD_RATE_LIMIT_CLOSE_AFTER: '10',
  });
});
afterAll(() => stack?.stop());

async function burst(client: TestClient, count: number): Promise<Message[]> {
  for (let i = 0; i < count; i++) client.send({ action: 'whoami', id: `b${i}` });
  const replies: Message[] = [];
  for (let i = 0; i < count; i++) replies.push(await client.next());
  return replies;
}

describe('rate limiting', () => {
  it('answers rate_limited past the burst, and the connection recovers once tokens come back', async () => {
    // Prepare
    const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'chatty' }) });
    // Act
    const replies = await burst(client, 8);
    await new Promise((r) => setTimeout(r, 1200));
    const after = await client.request({ action: 'whoami', id: 'later' });
    // Assess
    // The burst always passes; past it, a token only comes back every 500 ms.
    expect(replies.slice(0, 5).map((m) => m.type)).toEqual(Array(5).fill('connected'));
    const limited = replies.filter((m) => m.type === 'error' && m.code === 'rate_limited');
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(String(limited[0]?.message)).toMatch(/too many messages/);
    expect(after).toMatchObject({ type: 'connected', id: 'later' });
    await client.close();
  });

  it('counts malformed messages too', async () => {
    const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'noisy' }) });
    for (let i = 0; i < 9; i++) client.send('not json');
    const codes = [];
    for (let i = 0; i < 9; i++) codes.push((await client.next()).code);
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('invalid_request'));
    expect(codes).toContain('rate_limited');
    await client.close();
  });

  it('closes a connection that keeps on abusing the limit', async () => {
    // Prepare
    const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'abuser' }) });
    // Act
    for (let i = 0; i < 40; i++) client.send({ action: 'whoami' });
    const closed = await client.closed;
    // Assess
    expect(closed.code).toBe(1000);
    const other = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'polite' }) });
    expect(await other.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
    await other.close();
  });

  it('answers every ping of a burst: pings read no bucket', async () => {
    // Prepare
    const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'pinger' }) });
    // Act
    for (let i = 0; i < 12; i++) client.send({ action: 'ping', id: `p${i}` });
    const replies: Message[] = [];
    for (let i = 0; i < 12; i++) replies.push(await client.next());
    // Assess
    expect(replies.map((m) => m.id)).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`));
    expect(replies.every((m) => m.type === 'pong')).toBe(true);
    await client.close();
  });
});
