/**
 * `npm run listen` against the real local stack: the command (run as `node --import tsx
 * cli/listen.ts`, what the npm script runs) mints a local token, connects through the SDK, replays
 * what followed `--since`, prints each event published with the real EventBridge client as one JSON
 * line, and exits with code 0 on SIGINT. Bad flags exit 2 with the reason.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventMessage } from '../../core/protocol.js';
import { type RunningStack, startStack } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

const WAIT = { timeout: 15_000, interval: 20 };

let stack: RunningStack;
let bus: EventBridgeClient;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await startStack();
  bus = eventBridge(stack.baseUrl);
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  bus?.destroy();
  await stack?.stop();
});

interface Listener {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  events(): EventMessage[];
  exit: Promise<number | null>;
}

function listen(args: string[]): Listener {
  // The stack's test secret, so the token the command mints is one the stack accepts.
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/listen.ts', ...args], {
    env: { ...process.env, SWITCHBOARD_AUTH_SECRET: stack.env.SWITCHBOARD_AUTH_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    events: () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as EventMessage),
    exit,
  };
}

describe('npm run listen', () => {
  it('prints what followed --since and each new event as one JSON line, then exits 0 on SIGINT', async () => {
    // Prepare: two events before the command starts (a fresh table numbers them 1 and 2).
    const channel = `orders-${Date.now()}`;
    await publish(bus, { channel, data: { n: 1 } }, { DetailType: 'order_paid' });
    const second = await publish(bus, { channel, data: { n: 2 } }, { DetailType: 'order_paid' });

    // Act
    const listener = listen([
      '--channel',
      channel,
      '--since',
      '1',
      '--url',
      stack.websocketUrl,
      '--sub',
      'alice',
    ]);
    await vi.waitFor(() => expect(listener.stderr()).toContain(`subscribed to ${channel} after #1`), WAIT);
    const third = await publish(bus, { channel, data: { n: 3 } }, { DetailType: 'order_shipped' });
    await vi.waitFor(() => expect(listener.events().map((e) => e.id)).toContain(third), WAIT);
    listener.child.kill('SIGINT');

    // Assess
    expect(await listener.exit).toBe(0);
    expect(listener.events()).toEqual([
      expect.objectContaining({
        type: 'event',
        id: second,
        channel,
        event_type: 'order_paid',
        data: { n: 2 },
        seq: 2,
      }),
      expect.objectContaining({
        type: 'event',
        id: third,
        channel,
        event_type: 'order_shipped',
        data: { n: 3 },
        seq: 3,
      }),
    ]);
    expect(listener.stderr()).toContain('SIGINT: closing');
  });

  it('prints a readable line per event with --pretty', async () => {
    const channel = `pretty-${Date.now()}`;
    const listener = listen(['--channel', channel, '--url', stack.websocketUrl, '--pretty']);
    await vi.waitFor(() => expect(listener.stderr()).toContain(`subscribed to ${channel}`), WAIT);

    await publish(bus, { channel, data: { hello: 'world' } }, { DetailType: 'greeting' });
    await vi.waitFor(() => expect(listener.stdout()).toContain('greeting'), WAIT);
    listener.child.kill('SIGINT');

    expect(await listener.exit).toBe(0);
    expect(listener.stdout().trim()).toMatch(
      new RegExp(`^\\S+  ${channel} #1  greeting  \\{"hello":"world"\\}$`),
    );
  });

  it('refuses bad flags with the reason and the usage, exit code 2', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/listen.ts', ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const cases: Array<[string[], string]> = [
      [[], '--channel is required'],
      [['--channel', 'bad channel'], 'channel "bad channel" must match'],
      [['--channel', 'a', '--since', 'x'], '--since must be a seq (a non-negative integer), got "x"'],
      [['--channel', 'a', '--url', 'http://127.0.0.1/ws'], '--url must be a ws:// or wss:// URL'],
      [['--channel', 'a', '--url', 'wss://example.com/ws'], 'give --token'],
      [['--channel', 'a', '--bogus'], "Unknown option '--bogus'"],
    ];
    for (const [args, reason] of cases) {
      const { code, stderr } = await run(args);
      expect({
        args,
        code,
        reason: stderr.includes(reason),
        usage: stderr.includes('usage: npm run listen'),
      }).toEqual({
        args,
        code: 2,
        reason: true,
        usage: true,
      });
    }
  });
});
