/**
 * The shape of a fan-out task on the wire (the fan-out queue's message body), checked when a
 * worker reads it: the queue is the function's input boundary.
 */

import { CHANNEL_PATTERN } from './protocol.js';
import * as z from './validation.js';

const identity = z.object({
  userId: z.string(),
  roles: z.array(z.string()),
  tenant: z.optional(z.string()),
  email: z.optional(z.string()),
  anonymous: z.boolean(),
});

export const fanoutTaskSchema = z.object({
  tenant: z.optional(z.string().check(z.regex(CHANNEL_PATTERN))),
  channel: z.string().check(z.regex(CHANNEL_PATTERN)),
  // Empty with `payload`; a task with neither posts nothing.
  seqs: z.array(z.number().check(z.int(), z.positive())).check(z.maxLength(100)),
  // An unnumbered message posted as it is: a presence notice (`core/presence-notices.ts`).
  payload: z.optional(z.string().check(z.maxLength(128 * 1024))),
  audience: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('channel'),
      channel: z.string().check(z.regex(CHANNEL_PATTERN)),
      shard: z.number().check(z.int(), z.nonnegative()),
      shards: z.number().check(z.int(), z.positive()),
    }),
    z.object({ kind: z.literal('live'), shard: z.number().check(z.int(), z.nonnegative()) }),
  ]),
  cursor: z.optional(z.record(z.string(), z.unknown())),
  only: z.optional(z.array(z.object({ connectionId: z.string(), identity }))),
  attempt: z.optional(z.number().check(z.int(), z.nonnegative())),
});
