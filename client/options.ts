import type { TokenTransport, WebSocketConstructor } from './websocket.js';

/**
 * Returns the token for the next handshake. Called on every connection and reconnection (and
 * before a proactive handover), so it can fetch a fresh short-lived token from
 * `POST /api/v1/auth` each time.
 */
export type TokenProvider = () => string | Promise<string>;

/** What the heartbeat sends: a one-way keep-alive, or a ping that must be answered. */
export type HeartbeatMode = 'keepalive' | 'ping';

/** How the client retries a lost or failed connection. */
export interface ReconnectOptions {
  /**
   * The ceiling of the first retry's random delay; each further retry doubles it.
   * @default 1000
   */
  readonly baseDelayMs?: number;
  /**
   * No retry waits longer than this.
   * @default 30000
   */
  readonly maxDelayMs?: number;
  /**
   * Consecutive failed attempts after which the client gives up and closes; `0` never retries.
   * Also bounds the retries of a subscription refused with `rate_limited` or `internal_error`.
   * @default Infinity
   */
  readonly maxAttempts?: number;
  /**
   * A connection that stays open this long resets the attempt counter (and so the delays).
   * @default 10000
   */
  readonly stableAfterMs?: number;
}

export interface ClientOptions {
  /** The WebSocket endpoint, `ws://` or `wss://` (e.g. `wss://{api-id}.execute-api.{region}.amazonaws.com/ws`). */
  readonly url: string;
  /**
   * A JWT, or a provider called before every handshake. Omit it only where the deployment
   * admits anonymous connections.
   * @default undefined
   */
  readonly token?: string | TokenProvider;
  /**
   * `query` sends `?token=<jwt>` (works everywhere); `protocol` offers the subprotocols
   * `switchboard.v1` and `token-<jwt>`, which keeps the token out of URLs and access logs.
   * @default 'query'
   */
  readonly tokenTransport?: TokenTransport;
  /**
   * The WebSocket implementation. On Node 20, which has no global WebSocket, pass `ws`'s.
   * @default globalThis.WebSocket
   */
  readonly WebSocket?: WebSocketConstructor;
  /** Reconnection backoff; see each field's default. */
  readonly reconnect?: ReconnectOptions;
  /**
   * How often to keep the connection alive: inside API Gateway's 10-minute idle timeout, with a
   * minute to spare (browsers may delay a hidden page's timers to once a minute). `Infinity`
   * disables it.
   * @default 540000 (9 minutes)
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * `keepalive` sends `{"action":"keepalive"}`, which API Gateway answers itself with nothing: one
   * message, no server compute. A dead (half-open) connection is then noticed by TCP or by the next
   * request's timeout. `ping` sends `{"action":"ping"}` and presumes the connection dead when
   * nothing arrives within `pongTimeoutMs`: found within seconds, for a message out and an
   * invocation more on the server.
   * @default 'keepalive'
   */
  readonly heartbeat?: HeartbeatMode;
  /**
   * With `heartbeat: 'ping'`: after a ping, a connection that receives nothing for this long is
   * presumed dead (a half-open TCP connection never reports a close) and is replaced. `Infinity`
   * disables the check.
   * @default 10000
   */
  readonly pongTimeoutMs?: number;
  /**
   * Age at which a connection is replaced by a new one, before API Gateway's 2-hour cap cuts it.
   * `Infinity` disables it.
   * @default 6900000 (1 hour 55 minutes)
   */
  readonly maxConnectionAgeMs?: number;
  /**
   * How long a request waits for its reply: `whoami()` and `refresh()` from the call (including
   * any wait for a connection), a subscribe or unsubscribe from when it is sent.
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How many recent event ids are remembered per channel to drop redelivered duplicates.
   * @default 1000
   */
  readonly dedupeWindow?: number;
  /**
   * How long events that arrive after a missing `seq` are held back, waiting for it, before the
   * client asks the server to replay it (a subscribe with `since`). Events are delivered in `seq`
   * order, so this is the most a lost event delays the ones after it, plus one round trip.
   * `0` asks at once.
   * @default 1000
   */
  readonly gapTimeoutMs?: number;
}

/** The options with every default applied, validated once at `createClient`. */
export interface Settings {
  readonly url: string;
  readonly token: string | TokenProvider | undefined;
  readonly tokenTransport: TokenTransport;
  readonly WebSocket: WebSocketConstructor;
  readonly reconnect: Required<ReconnectOptions>;
  readonly heartbeatIntervalMs: number;
  readonly heartbeat: HeartbeatMode;
  readonly pongTimeoutMs: number;
  readonly maxConnectionAgeMs: number;
  readonly requestTimeoutMs: number;
  readonly dedupeWindow: number;
  readonly gapTimeoutMs: number;
}

export const DEFAULTS = {
  tokenTransport: 'query',
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  stableAfterMs: 10_000,
  heartbeatIntervalMs: 9 * 60_000,
  heartbeat: 'keepalive',
  pongTimeoutMs: 10_000,
  // API Gateway closes every WebSocket connection after 2 hours; 5 minutes of margin leaves room
  // for a slow token provider and the new connection's resubscriptions.
  maxConnectionAgeMs: 115 * 60_000,
  requestTimeoutMs: 10_000,
  dedupeWindow: 1000,
  // Events on one channel are usually reordered by milliseconds (parallel fan-out invocations);
  // a second covers that without holding a channel back noticeably when an event is truly lost.
  gapTimeoutMs: 1000,
} as const;

// Larger delays overflow setTimeout, which then fires at once (browsers and Node alike).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Thrown by `createClient` for an option it cannot work with. */
export class ClientOptionsError extends TypeError {
  override readonly name = 'ClientOptionsError';
}

interface NumberRule {
  readonly min: number;
  readonly integer?: boolean;
  readonly infinity?: boolean;
  readonly timer?: boolean;
}

function checkNumber(name: string, value: unknown, fallback: number, rule: NumberRule): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    value >= rule.min &&
    (Number.isFinite(value)
      ? (rule.integer !== true || Number.isInteger(value)) && (rule.timer !== true || value <= MAX_TIMER_MS)
      : rule.infinity === true);
  if (!ok) {
    const kind = rule.integer === true ? 'an integer' : 'a number';
    const limit = rule.timer === true ? ` and at most ${MAX_TIMER_MS}` : '';
    const infinity = rule.infinity === true ? ' (or Infinity)' : '';
    throw new ClientOptionsError(
      `${name} must be ${kind} of at least ${rule.min}${limit}${infinity}; received ${String(value)}`,
    );
  }
  return value;
}

/** The URL without query or fragment, so a token someone put there never lands in an error message. */
function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function checkUrl(value: unknown): string {
  if (typeof value !== 'string')
    throw new ClientOptionsError(`url must be a string; received ${typeof value}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientOptionsError(
      'url must be an absolute ws:// or wss:// URL; received an unparsable string',
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new ClientOptionsError(`url must be a ws:// or wss:// URL; received ${safeUrl(url)}`);
  }
  return value;
}

/** Applies the defaults and validates every option, failing with one message that names it. */
export function resolveOptions(options: ClientOptions): Settings {
  const url = checkUrl(options.url);
  const { token } = options;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw new ClientOptionsError(`token must be a string or a function; received ${typeof token}`);
  }
  const tokenTransport = options.tokenTransport ?? DEFAULTS.tokenTransport;
  if (tokenTransport !== 'query' && tokenTransport !== 'protocol') {
    throw new ClientOptionsError(
      `tokenTransport must be 'query' or 'protocol'; received ${String(tokenTransport)}`,
    );
  }
  const heartbeat = options.heartbeat ?? DEFAULTS.heartbeat;
  if (heartbeat !== 'keepalive' && heartbeat !== 'ping') {
    throw new ClientOptionsError(`heartbeat must be 'keepalive' or 'ping'; received ${String(heartbeat)}`);
  }
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WebSocket !== 'function') {
    throw new ClientOptionsError(
      "no WebSocket implementation: pass the WebSocket option (on Node 20: import WebSocket from 'ws')",
    );
  }
  const reconnect = options.reconnect ?? {};
  const timer = { timer: true } as const;
  return {
    url,
    token,
    tokenTransport,
    WebSocket,
    reconnect: {
      baseDelayMs: checkNumber('reconnect.baseDelayMs', reconnect.baseDelayMs, DEFAULTS.baseDelayMs, {
        min: 1,
        ...timer,
      }),
      maxDelayMs: checkNumber('reconnect.maxDelayMs', reconnect.maxDelayMs, DEFAULTS.maxDelayMs, {
        min: 1,
        ...timer,
      }),
      maxAttempts: checkNumber('reconnect.maxAttempts', reconnect.maxAttempts, DEFAULTS.maxAttempts, {
        min: 0,
        integer: true,
        infinity: true,
      }),
      stableAfterMs: checkNumber('reconnect.stableAfterMs', reconnect.stableAfterMs, DEFAULTS.stableAfterMs, {
        min: 0,
        ...timer,
      }),
    },
    heartbeatIntervalMs: checkNumber(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      DEFAULTS.heartbeatIntervalMs,
      {
        min: 1,
        infinity: true,
        ...timer,
      },
    ),
    heartbeat,
    pongTimeoutMs: checkNumber('pongTimeoutMs', options.pongTimeoutMs, DEFAULTS.pongTimeoutMs, {
      min: 1,
      infinity: true,
      ...timer,
    }),
    maxConnectionAgeMs: checkNumber(
      'maxConnectionAgeMs',
      options.maxConnectionAgeMs,
      DEFAULTS.maxConnectionAgeMs,
      {
        min: 1,
        infinity: true,
        ...timer,
      },
    ),
    requestTimeoutMs: checkNumber('requestTimeoutMs', options.requestTimeoutMs, DEFAULTS.requestTimeoutMs, {
      min: 1,
      infinity: true,
      ...timer,
    }),
    dedupeWindow: checkNumber('dedupeWindow', options.dedupeWindow, DEFAULTS.dedupeWindow, {
      min: 1,
      integer: true,
    }),
    // No Infinity: a lost event would then hold its channel back until the next reconnection.
    gapTimeoutMs: checkNumber('gapTimeoutMs', options.gapTimeoutMs, DEFAULTS.gapTimeoutMs, {
      min: 0,
      ...timer,
    }),
  };
}
