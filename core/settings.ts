/** Behaviour settings core needs, resolved from configuration by the adapters. */
import type { ChannelRule } from './channel-policy.js';
import type { PublisherPolicy } from './publishers.js';
import type { RateLimit } from './rate-limit.js';

export interface Settings {
  readonly channelPolicy: readonly ChannelRule[];
  readonly maxSubscriptions: number;
  readonly maxMessageBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxConnectionSeconds: number;
  readonly publishConcurrency: number;
  readonly rateLimit: RateLimit;
  /**
   * Channels clients may publish to (PROTOCOL §8), as channel rules: a client publishes where a
   * rule here allows it and the channel policy lets it subscribe.
   */
  readonly publishPolicy: readonly ChannelRule[];
  /**
   * Channels whose members Switchboard tracks (PROTOCOL §8), as channel rules: a user is a member
   * of a channel a rule here names when that rule allows the user. @default none: no presence
   */
  readonly presencePolicy?: readonly ChannelRule[];
  /** Big channels (issue: big channels and broadcast): how fan-out is split and paced. */
  readonly fanout: FanoutSettings;
  /** Which sources' events publish delivers, and to which tenants (`core/publishers.ts`). @default any */
  readonly publishers?: PublisherPolicy;
}

export interface FanoutSettings {
  /**
   * A channel with more subscribers than this is not posted to by the publish function itself:
   * its fan-out is split into shards that fan-out workers post in parallel.
   */
  readonly threshold: number;
  /**
   * `@connections` calls per second that all fan-out workers of all events share (API Gateway's
   * account quota is 10,000 per second by default, shared by every API in the account).
   */
  readonly callbacksPerSecond: number;
}

/**
 * Slack on top of API Gateway's idle timeout before a connection that API Gateway still reports
 * open, but silent past the timeout, is closed by the sweep: its clock and ours may differ.
 */
export const LIVENESS_GRACE_SECONDS = 60;

export const epochSeconds = (ms: number = Date.now()) => Math.floor(ms / 1000);
