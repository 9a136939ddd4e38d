/**
 * `npm run listen` against the real local stack. The npm script is `tsx cli/listen.ts`; the test
 * runs the same module as `node --import tsx cli/listen.ts`, so the exit code it sees is listen's
 * own (through `npm run`, npm reports its own code on Ctrl-C: docs/listen.md). The command mints a
 * local token, connects through the SDK, replays what followed `--since`, prints each event
 * published with the real EventBridge client as one JSON line (or an escaped `--pretty` line), and
 * exits 0 on SIGINT or when its reader goes away, 1 when every subscription is refused, 2 on bad
 * flags, with the reason.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
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

/**
 * Starts the command: as `node --import tsx cli/listen.ts`, or with `viaNpm` as `npm run -s listen`
 * in a process group of its own, so that a test can signal the whole group as a terminal's Ctrl-C
 * does (npm, the shell and tsx receive the SIGINT too).
 */
function listen(args: string[], { viaNpm = false } = {}): Listener {
  const [command, commandArgs] = viaNpm
    ? ['npm', ['run', '-s', 'listen', '--', ...args]]
    : [process.execPath, ['--import', 'tsx', 'cli/listen.ts', ...args]];
  // The stack's test secret, so the token the command mints is one the stack accepts.
  const child = spawn(command, commandArgs, {
    env: { ...process.env, SWITCHBOARD_AUTH_SECRET: stack.env.SWITCHBOARD_AUTH_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: viaNpm,
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
  // A process killed by a signal reports it as the shell would (130 for SIGINT).
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ? 128 + osConstants.signals[signal] : code)),
  );
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
    const first = await publish(bus, { channel, data: { n: 1 } }, { DetailType: 'order_paid' });
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
    const [replayed, live, ...more] = listener.events();
    expect(more).toEqual([]);
    // The two earlier events hold seq 1 and 2 in the order Switchboard processed them, not
    // necessarily the put order (PROTOCOL §4): the replay after #1 is whichever holds seq 2.
    expect(replayed).toMatchObject({ type: 'event', channel, event_type: 'order_paid', seq: 2 });
    expect([first, second]).toContain(replayed?.id);
    expect(replayed?.data).toEqual({ n: replayed?.id === first ? 1 : 2 });
    expect(live).toMatchObject({
      type: 'event',
      id: third,
      channel,
      event_type: 'order_shipped',
      data: { n: 3 },
      seq: 3,
    });
    expect(listener.stderr()).toContain('SIGINT: closing');
  });

  it('exits 0 through `npm run listen` when Ctrl-C signals the whole process group', async () => {
    // Prepare
    const channel = `npm-${Date.now()}`;
    const listener = listen(['--channel', channel, '--url', stack.websocketUrl], { viaNpm: true });
    await vi.waitFor(() => expect(listener.stderr()).toContain(`subscribed to ${channel}`), WAIT);

    // Act: what a terminal does on Ctrl-C: SIGINT to every process of the foreground group
    process.kill(-(listener.child.pid as number), 'SIGINT');

    // Assess: npm reports listen's own 0 (the script `exec`s tsx: no shell left to die of SIGINT)
    expect(await listener.exit).toBe(0);
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

  it('escapes control characters a publisher put in a --pretty line', async () => {
    // Prepare
    const channel = `escape-${Date.now()}`;
    const listener = listen(['--channel', channel, '--url', stack.websocketUrl, '--pretty']);
    await vi.waitFor(() => expect(listener.stderr()).toContain(`subscribed to ${channel}`), WAIT);

    // Act: an OSC title change and BEL in event_type, a C1 CSI in the data
    await publish(bus, { channel, event_type: '\u001b]0;pwned\u0007', data: { x: 'a\u009b2Jb' } });
    await vi.waitFor(() => expect(listener.stdout()).toContain('pwned'), WAIT);
    listener.child.kill('SIGINT');

    // Assess
    expect(await listener.exit).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
    expect(listener.stdout()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(listener.stdout()).toContain('  \\u001b]0;pwned\\u0007  {"x":"a\\u009b2Jb"}\n');
  });

  it('prints each event once when a channel is named twice', async () => {
    const channel = `twice-${Date.now()}`;
    const listener = listen(['--channel', channel, '--channel', channel, '--url', stack.websocketUrl]);
    await vi.waitFor(() => expect(listener.stderr()).toContain(`subscribed to ${channel}`), WAIT);

    const first = await publish(bus, { channel, data: { n: 1 } });
    const second = await publish(bus, { channel, data: { n: 2 } });
    await vi.waitFor(() => expect(listener.events().map((e) => e.id)).toContain(second), WAIT);
    await vi.waitFor(() => expect(listener.events().map((e) => e.id)).toContain(first), WAIT);
    listener.child.kill('SIGINT');

    expect(await listener.exit).toBe(0);
    // Each once (in the order Switchboard numbered them, not necessarily the put order).
    expect(
      listener
        .events()
        .map((e) => e.id)
        .sort(),
    ).toEqual([first, second].sort());
    expect(listener.stderr().match(/subscribed to /g)).toHaveLength(1);
  });

  it('ends quietly with exit code 0 when its reader goes away (| head -1)', async () => {
    // Prepare
    const channel = `pipe-${Date.now()}`;
    const listener = listen(['--channel', channel, '--url', stack.websocketUrl]);
    await vi.waitFor(() => expect(listener.stderr()).toContain(`subscribed to ${channel}`), WAIT);
    await publish(bus, { channel, data: { n: 1 } });
    await vi.waitFor(() => expect(listener.events()).toHaveLength(1), WAIT);

    // Act: the reader closes its end of the pipe, as `head -1` does, and more events come
    listener.child.stdout?.destroy();
    await publish(bus, { channel, data: { n: 2 } });
    await publish(bus, { channel, data: { n: 3 } });

    // Assess
    expect(await listener.exit).toBe(0);
    expect(listener.stderr()).not.toMatch(/EPIPE|Error|at /);
  });

  it('stops with exit code 1 when every subscription is refused, saying why once', async () => {
    const listener = listen(['--channel', 'system:alerts', '--url', stack.websocketUrl]);

    expect(await listener.exit).toBe(1);
    const lines = listener.stderr().split('\n');
    expect(lines.filter((line) => line.includes('system:alerts'))).toEqual([
      'listen: could not subscribe to system:alerts: subscription_failed: not allowed to subscribe to "system:alerts"',
    ]);
    expect(listener.stderr()).toContain('every subscription was refused');
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
      [['--channel', 'a', '--since', 'x'], '--since must be a seq (a non-negative decimal integer'],
      [['--channel', 'a', '--since', '0x10'], 'got "0x10"'],
      [['--channel', 'a', '--since', ''], 'got ""'],
      [['--channel', 'apps:*', '--since', '0'], '--since cannot be combined with the pattern "apps:*"'],
      [['--channel', 'a', '--sub', ''], '--sub must be 1 to 256 characters'],
      [['--channel', 'a', '--sub', 'x'.repeat(300)], '--sub must be 1 to 256 characters, got 300 characters'],
      [['--channel', 'a', '--token', 't', '--sub', 'alice'], '--sub cannot be combined with --token'],
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
