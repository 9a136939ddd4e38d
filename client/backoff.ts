/**
 * Reconnection delays: exponential backoff with "full jitter".
 *
 * Full jitter (a uniformly random delay between zero and the exponential ceiling) spreads the
 * reconnections of many clients that lost their connections at the same moment, for instance
 * after a deploy or a network blip, so they do not hit `$connect` (and the token endpoint) in
 * synchronised waves. See "Exponential Backoff And Jitter" on the AWS Architecture Blog.
 */

export interface BackoffSettings {
  /** The ceiling of the first delay, in milliseconds. */
  readonly baseDelayMs: number;
  /** No delay exceeds this, in milliseconds. */
  readonly maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): uniform in
 * `[0, min(maxDelayMs, baseDelayMs * 2^attempt))`, rounded down to whole milliseconds.
 */
export function fullJitterDelay(attempt: number, settings: BackoffSettings, random = Math.random): number {
  // 2 ** 1024 is Infinity, which Math.min caps; negative attempts are treated as the first retry.
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
