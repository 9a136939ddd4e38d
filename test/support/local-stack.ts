/**
 * Starts the real local stack (`local/main.ts`, exactly what `npm start` runs) as a child process
 * on free ports, against the suite's DynamoDB Local, and captures everything it logs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { signToken } from '../../adapters/token-verifier.js';
import { dynamodbEndpoint } from './dynamodb.js';

export const TEST_SECRET = 'integration-test-secret-of-at-least-32-bytes';

export interface RunningStack {
  readonly websocketUrl: string;
  readonly baseUrl: string;
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly env: Record<string, string>;
  /** The stack's process (`local/main.ts`); DynamoDB Local, when it starts one, runs below it. */
  readonly pid: number;
  /** Everything the stack wrote to stdout and stderr so far. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<RunningStack> {
  const tableName = `e2e-${randomUUID()}`;
  const fullEnv: Record<string, string> = {
    SWITCHBOARD_PORT: '0',
    SWITCHBOARD_DYNAMODB_ENDPOINT: dynamodbEndpoint(),
    SWITCHBOARD_TABLE_NAME: tableName,
    SWITCHBOARD_AUTH_SECRET: TEST_SECRET,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    ...env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    env: { ...process.env, ...fullEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitForReady(child, () => output);
  const websocketUrl = /WebSocket\s+(ws:\/\/\S+)/.exec(output)?.[1];
  if (!websocketUrl) throw new Error(`no WebSocket URL in the banner:\n${output}`);
  const baseUrl = websocketUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, '');
  return {
    websocketUrl,
    baseUrl,
    tableName,
    dynamodbEndpoint: fullEnv.SWITCHBOARD_DYNAMODB_ENDPOINT as string,
    env: fullEnv,
    pid: child.pid ?? 0,
    logs: () => output,
    stop: () => stopChild(child),
  };
}

function waitForReady(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`local stack not ready after 60 s:\n${output()}`)), 60_000);
    const onData = () => {
      if (output().includes('Switchboard local stack is ready')) done();
    };
    const onExit = (code: number | null) =>
      fail(new Error(`local stack exited (${code}) before ready:\n${output()}`));
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    function done() {
      cleanup();
      resolve();
    }
    function fail(error: Error) {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface TokenClaims {
  sub: string;
  roles?: string[];
  tenant?: string;
  email?: string;
  ttlSeconds?: number;
}

/** A token the test stacks accept. */
export function tokenFor(claims: TokenClaims): Promise<string> {
  return signToken({
    secret: TEST_SECRET,
    identity: {
      userId: claims.sub,
      roles: claims.roles ?? [],
      ...(claims.tenant ? { tenant: claims.tenant } : {}),
      ...(claims.email ? { email: claims.email } : {}),
    },
    ttlSeconds: claims.ttlSeconds ?? 600,
  });
}
