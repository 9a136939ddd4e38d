/**
 * Core `Settings` for unit tests that drive core directly: the defaults a deployment starts from,
 * with what a test is about given as overrides.
 */
import { DEFAULT_CHANNEL_POLICY } from '../../core/channel-policy.js';
import type { Settings } from '../../core/settings.js';

export function coreSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    channelPolicy: DEFAULT_CHANNEL_POLICY,
    publishPolicy: [],
    maxSubscriptions: 100,
    maxMessageBytes: 32 * 1024,
    idleTimeoutSeconds: 600,
    maxConnectionSeconds: 7200,
    publishConcurrency: 10,
    rateLimit: { burst: 20, perSecond: 10, closeAfter: 50 },
    fanout: { threshold: 1000, callbacksPerSecond: 4000 },
    ...overrides,
  };
}
