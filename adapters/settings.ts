/** Core's behaviour settings, taken from the validated configuration. */
import type { Settings } from '../core/settings.js';
import type { Config } from './config.js';

export function settingsFrom(config: Config): Settings {
  return {
    channelPolicy: config.channelPolicy,
    maxSubscriptions: config.maxSubscriptions,
    maxMessageBytes: config.maxMessageBytes,
    idleTimeoutSeconds: config.idleTimeoutSeconds,
    maxConnectionSeconds: config.maxConnectionSeconds,
    publishConcurrency: config.publishConcurrency,
    rateLimit: config.rateLimit,
  };
}
