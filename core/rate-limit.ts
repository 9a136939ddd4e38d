/**
 * A per-connection token bucket on client messages. Lambdas keep no state between invocations, so
 * the bucket lives on the connection entry and is carried here as plain numbers.
 */

export interface RateLimit {
  /** Messages a connection may send at once. */
  readonly burst: number;
  /** Tokens added back per second. */
  readonly perSecond: number;
  /** Refused messages in a row after which the connection is closed. */
  readonly closeAfter: number;
}

export interface Bucket {
  readonly tokens: number;
  /** Epoch milliseconds of the last refill. */
  readonly at: number;
  /** Refused messages since the last accepted one. */
  readonly strikes: number;
}

export interface Take {
  readonly allowed: boolean;
  readonly next: Bucket;
  /** True once abuse has gone on for `closeAfter` refusals: the connection should be closed. */
  readonly abusive: boolean;
}

/** Takes one token for a message; a connection without a bucket yet starts full. */
export function takeToken(limit: RateLimit, bucket: Bucket | undefined, nowMs: number): Take {
  const previous = bucket ?? { tokens: limit.burst, at: nowMs, strikes: 0 };
  const elapsed = Math.max(0, nowMs - previous.at) / 1000;
  const tokens = Math.min(limit.burst, previous.tokens + elapsed * limit.perSecond);
  if (tokens >= 1)
    return { allowed: true, abusive: false, next: { tokens: tokens - 1, at: nowMs, strikes: 0 } };
  const strikes = previous.strikes + 1;
  return { allowed: false, abusive: strikes >= limit.closeAfter, next: { tokens, at: nowMs, strikes } };
}
