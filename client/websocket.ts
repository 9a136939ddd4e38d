/**
 * What the client needs from a WebSocket implementation, and what it can learn from one.
 *
 * The implementation is injectable (browsers' `WebSocket`, `ws` on Node 20, a fake in tests), so
 * the client only touches the members that the WHATWG `WebSocket` and `ws` have in common.
 */

/**
 * A handler type compared bivariantly (the method-signature trick `@types/react` uses), so both the
 * DOM's `(ev: CloseEvent) => any` and `ws`'s `(event: WebSocket.CloseEvent) => void` are accepted
 * while the client still sees the fields it reads.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface MessageEventLike {
  readonly data: unknown;
}

export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** Browsers give no detail here; `ws` adds `message` (and `error`). */
export interface ErrorEventLike {
  readonly type: string;
  readonly message?: unknown;
  readonly error?: unknown;
}

export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<MessageEventLike> | null;
  onclose: Handler<CloseEventLike> | null;
  onerror: Handler<ErrorEventLike> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** `globalThis.WebSocket` in browsers (and Node 22+), `WebSocket` from `ws` on Node 20. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** How the token travels in the handshake (PROTOCOL.md §2). */
export type TokenTransport = 'query' | 'protocol';

/** The subprotocol offered beside `token-<jwt>`, so the server has a non-token one to answer with. */
export const SUBPROTOCOL = 'switchboard.v1';

export interface Handshake {
  readonly url: string;
  readonly protocols?: string[];
}

/**
 * The URL and subprotocols of one handshake. With `protocol`, the token stays out of URLs (and so
 * out of access logs and browser history); `switchboard.v1` is offered too because the server must
 * answer with one offered subprotocol, and echoing the token back would be a leak.
 */
export function handshakeFor(url: string, token: string | undefined, transport: TokenTransport): Handshake {
  if (token === undefined || token === '') return { url };
  if (transport === 'protocol') return { url, protocols: [SUBPROTOCOL, `token-${token}`] };
  const withToken = new URL(url);
  withToken.searchParams.set('token', token);
  return { url: withToken.toString() };
}

/**
 * What a failed handshake (a close before `open`) tells us:
 * - `status`: the server answered the upgrade with this HTTP status;
 * - `network`: the request never got an HTTP answer (refused, reset, DNS);
 * - `unknown`: the implementation does not say, which is always the case in browsers: the
 *   WebSocket API hides the status of a refused handshake behind a bare `error` and close 1006.
 */
export type HandshakeFailure =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'network' }
  | { readonly kind: 'unknown' };

// `ws` reports a refused upgrade as an error with exactly this message (lib/websocket.js).
const UNEXPECTED_RESPONSE = /Unexpected server response: (\d{3})/;
// Node's system errors (ECONNREFUSED, ENOTFOUND, ECONNRESET...), which `ws` passes through as `error`.
const SYSTEM_ERROR_CODE = /^E[A-Z]+$/;

/**
 * Reads the detail an implementation put in the `error` event that preceded a failed handshake.
 * Only details known for certain count: anything else (Node 22's built-in WebSocket says
 * "Received network error or non-101 status code.") is `unknown`, not `network`.
 */
export function describeHandshakeFailure(errorEvent: ErrorEventLike | undefined): HandshakeFailure {
  if (errorEvent === undefined) return { kind: 'unknown' };
  const { message, error } = errorEvent;
  const text =
    typeof message === 'string' && message !== '' ? message : error instanceof Error ? error.message : '';
  const status = UNEXPECTED_RESPONSE.exec(text)?.[1];
  if (status !== undefined) return { kind: 'status', status: Number(status) };
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && SYSTEM_ERROR_CODE.test(code)) return { kind: 'network' };
  return { kind: 'unknown' };
}
