/**
 * A local stack as a child process: `node --import tsx local/main.ts` (what `npm start` runs) in a
 * given tree, so two versions of Switchboard can run side by side, each in a process of its own,
 * started the same way. Its endpoints are read from the banner it prints once ready
 * (`local/banner.ts`, whose labels the tests pin).
 *
 * It runs under the same watchdog shell as DynamoDB Local's JVM: should the bench die outright,
 * the shell's stdin closes and it stops the stack (SIGTERM), which stops its JVM. `close()` asks
 * the same way and escalates to SIGKILL of the shell, the Node process and the JVM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { WATCHDOG } from '../local/emulator/dynamodb-local.js';
import { findFreePort } from '../local/free-port.js';
import { StageError, within } from './context.js';
import { findDescendant } from './machine.js';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const BANNER_END = 'Press Ctrl-C to stop.';

export interface StackProcess {
  readonly label: string;
  readonly endpoints: { readonly websocket: string; readonly eventBridge: string; readonly dynamodb: string };
  /** The stack's Node process and DynamoDB Local's JVM (undefined when not found). */
  readonly pids: { readonly node: number | undefined; readonly jvm: number | undefined };
  /** A client for the stack's EventBridge endpoint, configured like the bench's own. */
  readonly eventBridge: EventBridgeClient;
  /** Lines the stack and its handlers wrote: all, and those at level ERROR (or on stderr). */
  readonly output: { lines: number; errors: number; readonly recent: string[] };
  /** Stops the stack and its JVM; SIGKILL after 30 s. Idempotent. */
  close(): Promise<void>;
}

/** The banner's endpoint after `label`, e.g. `WebSocket        ws://127.0.0.1:1234/ws`. */
function endpointOf(banner: string, label: string): string {
  const match = new RegExp(`^\\s*${label}\\s+(\\S+)`, 'm').exec(banner);
  if (!match?.[1]) throw new StageError(`the stack's banner has no "${label}" line:\n${banner}`);
  return match[1];
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** The command name of `pid`, or undefined once it is gone. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Starts the stack in `cwd` on free loopback ports (its own DynamoDB Local included) with
 * `environment` plus the ports, and waits for its banner.
 */
export async function startStackProcess(options: {
  readonly label: string;
  readonly cwd: string;
  readonly environment: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}): Promise<StackProcess> {
  const { label, cwd, signal } = options;
  const [port, dynamodbPort] = [await findFreePort(), await findFreePort()];
  const env: NodeJS.ProcessEnv = {
    ...options.environment,
    SWITCHBOARD_PORT: String(port),
    SWITCHBOARD_DYNAMODB_PORT: String(dynamodbPort),
  };
  // Each stack gets a DynamoDB Local of its own.
  delete env.SWITCHBOARD_DYNAMODB_ENDPOINT;
  const child = spawn(
    '/bin/sh',
    ['-c', WATCHDOG, `stack-${label}`, process.execPath, '--import', 'tsx', 'local/main.ts'],
    { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const output = { lines: 0, errors: 0, recent: [] as string[] };
  const remember = (line: string) => {
    output.recent.push(line.length > 300 ? `${line.slice(0, 299)}…` : line);
    output.recent.splice(0, Math.max(0, output.recent.length - 20));
  };
  let banner = '';
  let ready = false;
  let resolveBanner!: () => void;
  const bannerShown = new Promise<void>((resolve) => {
    resolveBanner = resolve;
  });
  const lines = (source: 'stdout' | 'stderr') => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const all = partial.split('\n');
      partial = all.pop() ?? '';
      for (const line of all) {
        if (!ready && source === 'stdout') {
          banner += `${line}\n`;
          if (line.startsWith(BANNER_END)) {
            ready = true;
            resolveBanner();
          }
          continue;
        }
        if (!line.trim()) continue;
        output.lines += 1;
        let level = source === 'stderr' ? 'STDERR' : 'TEXT';
        try {
          level = String((JSON.parse(line) as { level?: unknown }).level ?? level).toUpperCase();
        } catch {
          // Not a JSON log line.
        }
        if (level === 'ERROR' || level === 'STDERR') output.errors += 1;
        if (level !== 'INFO' && level !== 'DEBUG') remember(`[${source} ${level}] ${line}`);
      }
    };
  };
  child.stdout?.on('data', lines('stdout'));
  child.stderr?.on('data', lines('stderr'));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let pids: { node: number | undefined; jvm: number | undefined } = { node: undefined, jvm: undefined };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (alive(child)) {
        child.kill('SIGTERM');
        await within(exited, STOP_TIMEOUT_MS, `stopping stack ${label}`).catch(() => {
          kill(child.pid);
          kill(pids.node);
        });
      }
      // The stack stops its JVM itself (and the JVM's watchdog when the stack dies); should the
      // JVM still be there, it goes now.
      if (pids.jvm !== undefined && commandOf(pids.jvm) === 'java') kill(pids.jvm);
    })();
    return closing;
  };
  try {
    const failed = exited.then(() => {
      throw new StageError(
        `stack ${label} (${cwd}) exited before it was ready:\n  ${output.recent.join('\n  ') || banner}`,
      );
    });
    failed.catch(() => {});
    await within(Promise.race([bannerShown, failed]), READY_TIMEOUT_MS, `starting stack ${label}`, signal);
  } catch (error) {
    await close();
    throw error;
  }
  pids = {
    node: child.pid === undefined ? undefined : findDescendant(child.pid, 'node'),
    jvm: child.pid === undefined ? undefined : findDescendant(child.pid, 'java'),
  };
  const endpoints = {
    websocket: endpointOf(banner, 'WebSocket'),
    eventBridge: endpointOf(banner, 'EventBridge'),
    dynamodb: endpointOf(banner, 'DynamoDB Local'),
  };
  const eventBridge = new EventBridgeClient({
    endpoint: endpoints.eventBridge,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    label,
    endpoints,
    pids,
    eventBridge,
    output,
    close: async () => {
      await close();
      eventBridge.destroy();
    },
  };
}
