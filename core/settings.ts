/** Behaviour settings core needs, resolved from configuration by the adapters. */
import type { ChannelRule } from './channel-policy.js';
import type { RateLimit } from './rate-limit.js';

export interface Settings {
  readonly channelPolicy: readonly ChannelRule[];
  readonly maxSubscriptions: number;
  readonly maxMessageBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxConnectionSeconds: number;
  readonly publishConcurrency: number;
  readonly rateLimit: RateLimit;
}

/**
 * Slack on top of API Gateway's idle timeout before a silent connection counts as gone: a client
 * pinging at exactly the timeout must not be swept between two pings.
 */
export const LIVENESS_GRACE_SECONDS = 60;

export function liveUntil(settings: Settings, nowSeconds: number): number {
  return nowSeconds + settings.idleTimeoutSeconds + LIVENESS_GRACE_SECONDS;
}

export const epochSeconds = (ms: number = Date.now()) => Math.floor(ms / 1000);
