/**
 * Identifiers and timestamps shaped like the ones AWS hands to handlers, so code and logs that
 * look at them (length, alphabet, URL-encoding) behave locally as they do on AWS.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * API Gateway WebSocket ids (connectionId, requestId, messageId) are 11 bytes of standard base64,
 * e.g. `L0SM9cOFvHcCIhw=`. They may contain `+` and `/`, which is why the SDK URL-encodes them.
 */
export function apiGatewayId(): string {
  return randomBytes(11).toString('base64');
}

/** API ids are 10 lowercase alphanumerics (`{apiId}.execute-api.{region}.amazonaws.com`). */
export function apiId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

/** EventBridge event ids and Lambda request ids are UUIDs. */
export function uuid(): string {
  return randomUUID();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestTime` as API Gateway writes it: Common Log Format in UTC, `21/Nov/2026:12:00:00 +0000`. */
export function clfTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = MONTHS[date.getUTCMonth()] ?? 'Jan';
  return (
    `${pad(date.getUTCDate())}/${month}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** EventBridge envelope `time`: ISO 8601 UTC to the second, without milliseconds. */
export function eventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
