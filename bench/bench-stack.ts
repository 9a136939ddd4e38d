/**
 * The real local stack, started in this process (`startLocalStack`, what `npm start` runs), with
 * the SDK clients the bench drives it with. In-process on purpose: the `PostToConnection` floor
 * then runs on the same event loop as the publish handler's own posts, so the two compare fairly,
 * and the stack's memory is this process's RSS.
 *
 * The handlers log (Powertools JSON) to stdout and libraries warn on stderr; once the stack starts
 * both are captured and counted by level instead of printed, so they cannot garble the progress
 * bar or the summary (the bench writes through `output.ts`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import { SETTINGS } from '../adapters/settings-table.js';
import { signToken } from '../adapters/token-verifier.js';
import type { Identity } from '../core/identity.js';
import { readSetting } from '../local/local-settings.js';
import { type LocalStack, startLocalStack } from '../local/local-stack.js';
import { describeError, type LocalLog } from '../local/log.js';
import { findDescendant } from './machine.js';

const RECENT_LINES = 30;

/** What the stack and its handlers logged during the run (counts, and the latest warnings/errors). */
export interface CapturedLogs {
  readonly stack: { warn: number; error: number };
  readonly handlers: Record<string, number>;
  readonly recent: string[];
}

export interface BenchStack {
  readonly stack: LocalStack;
  readonly tableName: string;
  readonly publishConcurrency: number;
  readonly eventBridge: EventBridgeClient;
  /** A raw client and a document client (marshalled like the handlers') on the stack's DynamoDB. */
  readonly dynamodb: DynamoDBClient;
  readonly db: DynamoDBDocumentClient;
  /** The `@connections` client, built by the same factory as the publish handler's. */
  readonly management: ApiGatewayManagementApiClient;
  /** DynamoDB Local's JVM (undefined with an external SWITCHBOARD_DYNAMODB_ENDPOINT). */
  readonly jvmPid: number | undefined;
  readonly logs: CapturedLogs;
  /** A JWT the stack accepts, valid for an hour. */
  token(identity: Omit<Identity, 'anonymous'>): Promise<string>;
  /** Stops everything (sockets, handlers, DynamoDB Local's JVM). Idempotent. */
  close(): Promise<void>;
}

function push(recent: string[], line: string): void {
  recent.push(line.length > 400 ? `${line.slice(0, 399)}…` : line);
  recent.splice(0, Math.max(0, recent.length - RECENT_LINES));
}

/** Told every line the handlers (`handler`) or the stack itself (`stack`) log. */
export type LineListener = (source: 'handler' | 'stack', line: string) => void;

export interface BenchStackOptions {
  /** The fan-out function's timeout (`LocalStackOptions.fanoutTimeoutMs`). @default its own */
  readonly fanoutTimeoutMs?: number;
  /** @default none */
  readonly onLine?: LineListener;
  /**
   * The per-connection message limit. @default 1,000 at once and 1,000/s: clients send a handful
   * of messages each; the limit is not what most stages measure.
   */
  readonly rateLimit?: { readonly burst: number; readonly perSecond: number };
}

/**
 * Replaces process.stdout.write and process.stderr.write with counters of what the handlers and
 * libraries log, for the rest of the process's life: handlers may still log while the stack
 * stops. The bench writes through `output.ts` instead.
 */
function captureOutput(logs: CapturedLogs, onLine: LineListener | undefined): void {
  const capture = (stream: NodeJS.WriteStream, source: 'stdout' | 'stderr') => {
    let partial = '';
    const write = (chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
      partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        onLine?.('handler', line);
        let level = source === 'stderr' ? 'STDERR' : 'TEXT';
        try {
          level = String((JSON.parse(line) as { level?: unknown }).level ?? level).toUpperCase();
        } catch {
          // Not a Powertools line.
        }
        logs.handlers[level] = (logs.handlers[level] ?? 0) + 1;
        if (level !== 'INFO' && level !== 'DEBUG') push(logs.recent, `[${source} ${level}] ${line}`);
      }
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    };
    stream.write = write as typeof stream.write;
  };
  capture(process.stdout, 'stdout');
  capture(process.stderr, 'stderr');
}

/**
 * The publish concurrency the stack runs with (and the floor uses): SWITCHBOARD_PUBLISH_CONCURRENCY,
 * else the settings table's default, checked against the table's range.
 */
export function publishConcurrencyFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return readSetting<number>(SETTINGS.publishConcurrency, env);
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const publishConcurrency = publishConcurrencyFromEnv();
  const secret = randomBytes(32).toString('base64url');
  // The stack builds its handlers from this environment (this process's is left as it is).
  const env = {
    ...process.env,
    SWITCHBOARD_AUTH_SECRET: secret,
    SWITCHBOARD_PUBLISH_CONCURRENCY: String(publishConcurrency),
    // Clients send a handful of messages each; the per-connection limit is not what is measured,
    // unless a stage asks for one (the client-publish stage's one hot connection).
    SWITCHBOARD_RATE_LIMIT_BURST: String(options.rateLimit?.burst ?? 1000),
    SWITCHBOARD_RATE_LIMIT_PER_SECOND: String(options.rateLimit?.perSecond ?? 1000),
  };
  const logs: CapturedLogs = { stack: { warn: 0, error: 0 }, handlers: {}, recent: [] };
  const log: LocalLog = {
    debug: () => {},
    warn: (message) => {
      options.onLine?.('stack', message);
      logs.stack.warn += 1;
      push(logs.recent, `[stack warn] ${message}`);
    },
    error: (message, error) => {
      options.onLine?.('stack', message);
      logs.stack.error += 1;
      push(logs.recent, `[stack error] ${message}${error === undefined ? '' : `: ${describeError(error)}`}`);
    },
  };
  captureOutput(logs, options.onLine);
  const external = Boolean(process.env.SWITCHBOARD_DYNAMODB_ENDPOINT?.trim());
  const tableName = `switchboard-bench-${randomUUID().slice(0, 8)}`;
  const stack = await startLocalStack({
    env,
    port: 0,
    dynamodbPort: 0,
    tableName,
    log,
    ...(options.fanoutTimeoutMs !== undefined ? { fanoutTimeoutMs: options.fanoutTimeoutMs } : {}),
  });
  // With the region and credentials of the stack's own clients: configured exactly like the handlers'.
  const { aws } = stack;
  const dynamodb = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, ...aws });
  const db = createDocumentClient({ dynamodbEndpoint: stack.endpoints.dynamodb, aws });
  const management = createManagementClient({ callbackUrl: stack.endpoints.management, aws });
  const eventBridge = new EventBridgeClient({
    endpoint: stack.endpoints.eventBridge,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let closing: Promise<void> | undefined;
  return {
    stack,
    tableName,
    publishConcurrency,
    eventBridge,
    dynamodb,
    db,
    management,
    jvmPid: external ? undefined : findDescendant(process.pid, 'java'),
    logs,
    token: (identity) => signToken({ secret, identity, ttlSeconds: 3600 }),
    close() {
      closing ??= (async () => {
        try {
          // An external DynamoDB outlives the run: do not leave the bench's table in it.
          if (external) await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => {});
          await stack.close();
        } finally {
          eventBridge.destroy();
          management.destroy();
          db.destroy();
          dynamodb.destroy();
        }
      })();
      return closing;
    },
  };
}
