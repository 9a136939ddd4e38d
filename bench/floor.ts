/**
 * The bare `PostToConnection` floor: posting with nothing of Switchboard around it (no EventBridge,
 * rule, queue, DynamoDB or handler). The real Management API client (`stack.management`, built by
 * the same factory as the publish handler's), at the publish concurrency, from this process: the
 * same event loop the publish handler posts from. The fan-out stage posts one message to N
 * connections per round; the burst stage posts many messages to a few connections.
 */
import { randomUUID } from 'node:crypto';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { BenchStack } from './bench-stack.js';
import { mapConcurrently } from './context.js';
import { hrNow } from './stats.js';

/** One message of a floor round, for one connection. */
export interface FloorPost {
  readonly connectionId: string;
  readonly payload: Uint8Array;
}

const encoder = new TextEncoder();

/** An `event` message shaped like the publish handler's, tagged for the client workers. */
export function floorMessage(channel: string, tag: string, seq: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      type: 'event',
      id: randomUUID(),
      channel,
      event_type: 'bench_event',
      data: { tag },
      seq,
      timestamp: new Date().toISOString(),
    }),
  );
}

/**
 * Posts every message, at most `stack.publishConcurrency` at once; the first failure rejects.
 * Returns when the loop started and when the last post was answered (shared clock, ms).
 */
export async function postFloor(
  stack: BenchStack,
  posts: readonly FloorPost[],
): Promise<{ readonly start: number; readonly posted: number }> {
  const start = hrNow();
  await mapConcurrently(posts, stack.publishConcurrency, async ({ connectionId, payload }) => {
    await stack.management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload }));
  });
  return { start, posted: hrNow() };
}
