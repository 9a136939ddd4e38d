import type { ServerMessage } from '../core/protocol.js';

/**
 * Reads one server frame, tolerantly: unknown types and extra fields pass through (a newer server
 * may add them), but a frame without the fields the client relies on is dropped rather than
 * trusted. This is deliberately not the protocol module's zod schemas: the SDK stays free of
 * runtime dependencies, and the server is the side that validates untrusted input.
 */
export function readServerMessage(data: unknown): ServerMessage | undefined {
  // Text frames arrive as strings in browsers and from `ws` 8; binary frames are not protocol v1.
  if (typeof data !== 'string') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isRecord(json) || typeof json.type !== 'string') return undefined;
  if (json.id !== undefined && typeof json.id !== 'string') return undefined;
  const needs = REQUIRED_STRINGS[json.type];
  if (needs === undefined) return json as unknown as ServerMessage;
  for (const field of needs) {
    if (typeof json[field] !== 'string') return undefined;
  }
  const shape = REQUIRED_SHAPES[json.type];
  if (shape !== undefined && !shape(json)) return undefined;
  return json as unknown as ServerMessage;
}

// The string fields the client reads from each message type it acts on.
const REQUIRED_STRINGS: Readonly<Record<string, readonly string[]>> = {
  event: ['id', 'channel', 'event_type'],
  subscribed: ['channel'],
  unsubscribed: ['channel'],
  connected: ['connectionId', 'expiresAt'],
  refreshed: ['expiresAt'],
  error: ['code', 'message'],
  presence: ['channel'],
  presence_join: ['channel'],
  presence_leave: ['channel'],
};

const hasUser = (json: Record<string, unknown>) =>
  isRecord(json.user) && typeof json.user.userId === 'string';

// What else a message type needs, beyond its strings.
const REQUIRED_SHAPES: Readonly<Record<string, (json: Record<string, unknown>) => boolean>> = {
  presence: (json) =>
    Array.isArray(json.members) &&
    json.members.every(
      (m) => isRecord(m) && typeof m.userId === 'string' && typeof m.connections === 'number',
    ) &&
    typeof json.count === 'number',
  presence_join: hasUser,
  presence_leave: hasUser,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
