/**
 * Part of the "DynamoDB cost" stage: what history and recovery cost in DynamoDB, as DynamoDB
 * (Local) reports it. The real `DynamoChannelHistory` runs on a document client whose middleware
 * asks every call for `ReturnConsumedCapacity: 'TOTAL'` and adds up what comes back, so nothing in
 * the product is changed or re-typed to be measured.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { serverMessage } from '../core/protocol.js';

export interface Units {
  readonly read: number;
  readonly write: number;
}

export interface HistoryCostResult {
  /** Bytes of the delivered `event` message each appended event carries. */
  readonly payloadBytes: number;
  /** A new event on a channel: its seq, stored event and id marker. */
  readonly append: Units;
  /** The same event again (a redelivery): it gets its seq back. */
  readonly redeliveredAppend: Units;
  /** A resubscribe with `since`: reading the current seq and replaying `events` events. */
  readonly recovery: readonly (Units & { readonly events: number })[];
}

/** A document client whose calls are counted: units by reads and writes, requests by operation. */
export interface MeteredClient {
  readonly client: DynamoDBDocumentClient;
  /** The calls since the last `take`, by operation (`Query`, `BatchWriteItem`, ...), sorted. */
  requests(): Record<string, number>;
  /** Whether DynamoDB (Local) reported consumed capacity on any call so far. */
  reported(): boolean;
  /** The units consumed since the last `take`, and a fresh start for units and requests. */
  take(): Units;
}

/**
 * Sums the capacity each call consumed, as reads or writes by the command that consumed it, and
 * counts the calls. The middleware goes on `raw`'s stack (a document client shares it): give it a
 * client of its own.
 */
export function meteredClient(raw: DynamoDBClient): MeteredClient {
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  let read = 0;
  let write = 0;
  let reported = false;
  const requests = new Map<string, number>();
  // A stage run after another on the same raw client replaces the earlier meter (a stack refuses
  // two middlewares of one name), so each stage counts its own requests only.
  client.middlewareStack.remove('benchConsumedCapacity');
  client.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      requests.set(operation, (requests.get(operation) ?? 0) + 1);
      const result = await next(args);
      const consumed = (
        result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }
      ).ConsumedCapacity;
      if (consumed !== undefined) reported = true;
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
        (sum, c) => sum + (c.CapacityUnits ?? 0),
        0,
      );
      if (/Get|Query|Scan/.test(operation)) read += units;
      else write += units;
      return result;
    },
    { step: 'initialize', name: 'benchConsumedCapacity' },
  );
  return {
    client,
    requests: () => Object.fromEntries([...requests].sort(([a], [b]) => a.localeCompare(b))),
    reported: () => reported,
    take() {
      const units = { read: Math.round(read * 10) / 10, write: Math.round(write * 10) / 10 };
      read = 0;
      write = 0;
      requests.clear();
      return units;
    },
  };
}

export async function measureHistoryCost(raw: DynamoDBClient, tableName: string): Promise<HistoryCostResult> {
  const { client, take } = meteredClient(raw);
  const history = new DynamoChannelHistory(client, tableName, { seconds: 3600, maxEvents: 1000 });
  const now = Math.floor(Date.now() / 1000);
  const data = { id: 11, title: 'a typical event', by: 'cluster-code-service', tags: ['a', 'b', 'c'] };
  const render = (eventId: string) => (seq: number) =>
    JSON.stringify(
      serverMessage({ type: 'event', id: eventId, channel: 'orders', event_type: 'order_paid', data, seq }),
    );
  take();
  const one = (eventId: string) => [
    { tenant: 'acme', channel: 'orders', events: [{ eventId, render: render(eventId) }] },
  ];
  await history.append(one('event-0'), now);
  const append = take();
  await history.append(one('event-0'), now);
  const redeliveredAppend = take();
  for (let i = 1; i < 100; i++) await history.append(one(`event-${i}`), now);
  take();
  const recovery = [];
  for (const events of [1, 10, 100]) {
    const current = await history.current('acme', 'orders');
    await history.replay('acme', 'orders', current - events, current, now);
    recovery.push({ events, ...take() });
  }
  return { payloadBytes: Buffer.byteLength(render('event-0')(1)), append, redeliveredAppend, recovery };
}
