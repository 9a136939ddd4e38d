/**
 * The environment every handler gets, derived from the settings table
 * (`adapters/settings-table.ts`): each variable the handlers read gets its prop's resolved
 * value, the stack's own resource, or API Gateway's fixed limit. The stack passes
 * CloudFormation references; the bundle report and the tests pass plain values.
 */
import type { Duration } from 'aws-cdk-lib';
import { SETTING_ROWS, SETTINGS, type SettingKind } from '../adapters/settings-table.js';
import type { ResolvedSwitchboardApiProps } from './switchboard-api-props.js';

/**
 * API Gateway's own WebSocket limits (not configurable): a connection idle for 10 minutes, or
 * open for 2 hours, is closed by API Gateway. The handlers use them to decide when a connection
 * item is stale.
 */
export const API_GATEWAY_IDLE_TIMEOUT_SECONDS = SETTINGS.idleTimeoutSeconds.default;
export const API_GATEWAY_MAX_CONNECTION_SECONDS = SETTINGS.maxConnectionSeconds.default;

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

/** The value at a prop path (`rateLimit.burst`) of the resolved props. */
export function propValue(config: ResolvedSwitchboardApiProps, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], config);
}

/** A prop's value as its environment variable holds it (see `SettingKind`). */
export function envText(kind: SettingKind, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (kind === 'seconds') return String((value as Duration).toSeconds());
  if (kind === 'list') return (value as readonly string[]).join(',');
  if (kind === 'json') return JSON.stringify(value);
  return String(value);
}

export function handlerEnvironment(input: HandlerEnvironmentInput): Record<string, string> {
  const fromStack: Record<string, string> = {
    [SETTINGS.tableName.env]: input.tableName,
    [SETTINGS.callbackUrl.env]: input.callbackUrl,
    [SETTINGS.authSecretArn.env]: input.authSecretArn,
    [SETTINGS.fanoutQueueUrl.env]: input.fanoutQueueUrl,
  };
  const env: Record<string, string> = {};
  for (const row of SETTING_ROWS) {
    // Variables only some handlers read are added to those (the publish queue's URL).
    if (!row.env || !row.readBy?.includes('handlers')) continue;
    const value =
      row.onAws === 'stack'
        ? fromStack[row.env]
        : row.onAws === 'fixed'
          ? String(row.default)
          : row.prop && envText(row.kind, propValue(input.config, row.prop));
    if (value !== undefined) env[row.env] = value;
  }
  return env;
}
