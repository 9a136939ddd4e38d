/**
 * The environment every handler gets, built in one place from the `ENV` names of
 * `adapters/config.ts` (the names the handlers read). The stack passes CloudFormation references;
 * the bundle report and the tests pass plain values.
 */
import { ENV } from '../adapters/config.js';
import { METRICS_NAMESPACE } from '../adapters/observability.js';
import type { ResolvedSwitchboardApiProps } from './switchboard-api-props.js';

/**
 * API Gateway's own WebSocket limits (not configurable): a connection idle for 10 minutes, or
 * open for 2 hours, is closed by API Gateway. The handlers use them to decide when a connection
 * item is stale.
 */
export const API_GATEWAY_IDLE_TIMEOUT_SECONDS = 600;
export const API_GATEWAY_MAX_CONNECTION_SECONDS = 7200;

export interface HandlerEnvironmentInput {
  readonly tableName: string;
  /** The stage's callback URL, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  readonly callbackUrl: string;
  /** The secret's ARN (on AWS); the handlers fetch its value at init. */
  readonly authSecretArn: string;
  /** The fan-out queue's URL (publish and the fan-out workers send shard tasks to it). */
  readonly fanoutQueueUrl: string;
  readonly config: ResolvedSwitchboardApiProps;
}

export function handlerEnvironment(input: HandlerEnvironmentInput): Record<string, string> {
  const { config } = input;
  const env: Record<string, string> = {
    [ENV.tableName]: input.tableName,
    [ENV.callbackUrl]: input.callbackUrl,
    [ENV.authSecretArn]: input.authSecretArn,
    [ENV.authMaxTokenLifetimeSeconds]: String(config.auth.maxTokenLifetime.toSeconds()),
    [ENV.authShortTokenTtlSeconds]: String(config.auth.shortTokenLifetime.toSeconds()),
    [ENV.allowAnonymous]: String(config.allowAnonymous),
    [ENV.channelPolicy]: JSON.stringify(config.channelPolicy),
    [ENV.presencePolicy]: JSON.stringify(config.presencePolicy),
    [ENV.maxSubscriptions]: String(config.maxSubscriptions),
    [ENV.maxMessageBytes]: String(config.maxMessageBytes),
    [ENV.rateLimitBurst]: String(config.rateLimit.burst),
    [ENV.rateLimitPerSecond]: String(config.rateLimit.perSecond),
    [ENV.rateLimitCloseAfter]: String(config.rateLimit.closeAfter),
    [ENV.historySeconds]: String(config.history.retention.toSeconds()),
    [ENV.historyMaxEvents]: String(config.history.maxEvents),
    [ENV.idleTimeoutSeconds]: String(API_GATEWAY_IDLE_TIMEOUT_SECONDS),
    [ENV.maxConnectionSeconds]: String(API_GATEWAY_MAX_CONNECTION_SECONDS),
    [ENV.fanoutQueueUrl]: input.fanoutQueueUrl,
    [ENV.fanoutThreshold]: String(config.fanoutThreshold),
    [ENV.callbacksPerSecond]: String(config.callbacksPerSecond),
    POWERTOOLS_SERVICE_NAME: config.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  };
  if (config.auth.jwksUrl !== undefined) env[ENV.authJwksUrl] = config.auth.jwksUrl;
  if (config.auth.issuer !== undefined) env[ENV.authIssuer] = config.auth.issuer;
  if (config.auth.audience !== undefined) env[ENV.authAudience] = config.auth.audience;
  if (config.allowedOrigins !== undefined) env[ENV.allowedOrigins] = config.allowedOrigins.join(',');
  // The rule filters on these; publish checks them again (core/publishers.ts).
  if (config.eventSources !== undefined) env[ENV.eventSources] = config.eventSources.join(',');
  if (config.sourceTenants !== undefined) env[ENV.sourceTenants] = JSON.stringify(config.sourceTenants);
  return env;
}
