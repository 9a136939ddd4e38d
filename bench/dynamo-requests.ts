/**
 * Counts the DynamoDB requests this process makes, by operation, without touching them: Node's
 * `http.client.request.start` diagnostics channel reports every outgoing HTTP request, and a
 * DynamoDB request names its operation in `X-Amz-Target` (`DynamoDB_20120810.Query`). The local
 * stack's handlers run in this process, so their requests are counted as they are: no proxy in
 * their path, no change to how their clients are built.
 *
 * Why not a proxy: the handlers build their DynamoDB client once, from configuration, so the
 * only way to meter it from outside is its endpoint, and a metering proxy in this process adds a
 * hop on the event loop the handlers share (in a trial on a busy two-core machine it about halved
 * the spread burst's events/s).
 * Consumed units need the request to ask for them, so they are measured apart
 * (`publish-cost.ts`).
 *
 * Everything of DynamoDB that this process does in the window is counted: the bench must not read
 * DynamoDB meanwhile, and the stack's sweep (a few `Query`s a minute) may add to a window.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

const CHANNEL = 'http.client.request.start';
const TARGET_PREFIX = 'DynamoDB_20120810.';

export interface DynamoRequestCounter {
  /** Counts from zero, from now on. */
  start(): void;
  /** Requests since `start()`, by operation; counting stops. */
  take(): Readonly<Record<string, number>>;
  /** Stops listening. Idempotent. */
  close(): void;
}

export function countDynamoRequests(): DynamoRequestCounter {
  const counts = new Map<string, number>();
  let counting = false;
  const onRequest = (message: unknown) => {
    if (!counting) return;
    const target = (message as { request: ClientRequest }).request.getHeader('x-amz-target');
    if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) return;
    const operation = target.slice(TARGET_PREFIX.length);
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
  };
  subscribe(CHANNEL, onRequest);
  let closed = false;
  return {
    start() {
      counts.clear();
      counting = true;
    },
    take() {
      counting = false;
      const result = Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
      counts.clear();
      return result;
    },
    close() {
      if (closed) return;
      closed = true;
      counting = false;
      unsubscribe(CHANNEL, onRequest);
    },
  };
}
