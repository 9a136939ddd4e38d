/**
 * One WebSocket of the client (a "link") and its heartbeat. The client holds one link in use, and
 * a second while a handover replaces it; this module opens, pings, writes to and tears down a
 * socket, and leaves what its events mean to the connection (`connection.ts`).
 */
import type { Settings } from './options.js';
import { noop, startInterval, startTimer, type Timer } from './timers.js';
import { type CloseEventLike, type ErrorEventLike, handshakeFor, type WebSocketLike } from './websocket.js';

/** One WebSocket: the current connection, or the one replacing it during a handover. */
export interface Link {
  readonly socket: WebSocketLike;
  readonly token: string | undefined;
  opened: boolean;
  openedAt: number;
  ended: boolean;
  /** The `error` event before a failed handshake: `ws` says why there, browsers do not. */
  handshakeError: ErrorEventLike | undefined;
  /** Handover only: subscribe requests still unanswered on the new connection. */
  readonly awaiting: Set<string>;
  heartbeat: ReturnType<typeof setInterval> | undefined;
  pongDeadline: Timer | undefined;
  stable: Timer | undefined;
  cap: Timer | undefined;
  handoverDeadline: Timer | undefined;
}

/** What the owner of a link hears from its socket. */
export interface LinkListeners {
  open(link: Link): void;
  message(link: Link, data: unknown): void;
  close(link: Link, event: CloseEventLike): void;
}

/**
 * Opens a socket for one handshake with `token`. Throws synchronously what no retry can fix (a
 * subprotocol the browser rejects, an implementation that is not a WebSocket).
 */
export function openLink(
  settings: Pick<Settings, 'url' | 'tokenTransport' | 'WebSocket'>,
  token: string | undefined,
  listeners: LinkListeners,
): Link {
  const { url, protocols } = handshakeFor(settings.url, token, settings.tokenTransport);
  const WebSocketImpl = settings.WebSocket;
  const socket = protocols === undefined ? new WebSocketImpl(url) : new WebSocketImpl(url, protocols);
  const link: Link = {
    socket,
    token,
    opened: false,
    openedAt: 0,
    ended: false,
    handshakeError: undefined,
    awaiting: new Set(),
    heartbeat: undefined,
    pongDeadline: undefined,
    stable: undefined,
    cap: undefined,
    handoverDeadline: undefined,
  };
  socket.onopen = () => listeners.open(link);
  socket.onmessage = (event) => listeners.message(link, event.data);
  socket.onerror = (event) => {
    if (!link.opened) link.handshakeError = event;
  };
  socket.onclose = (event) => listeners.close(link, event);
  return link;
}

/** Open and not ended: the link can carry requests. */
export function isLive(link: Link | undefined): link is Link {
  return link?.opened === true && !link.ended;
}

export function sendFrame(link: Link, message: Readonly<Record<string, unknown>>): void {
  try {
    link.socket.send(JSON.stringify(message));
  } catch {
    // The socket is closing; its close event reconnects and re-sends what matters.
  }
}

/**
 * Every `intervalMs`: in `keepalive` mode sends `{"action":"keepalive"}`, which nothing answers
 * (API Gateway's idle timer restarts, no server compute runs); in `ping` mode sends
 * `{"action":"ping"}`, and when nothing at all arrives within `pongTimeoutMs` of it, `onSilent` is
 * called: a half-open TCP connection never reports a close by itself.
 */
export function startHeartbeat(
  link: Link,
  settings: Pick<Settings, 'heartbeat' | 'heartbeatIntervalMs' | 'pongTimeoutMs'>,
  onSilent: () => void,
): void {
  link.heartbeat = startInterval(() => {
    if (settings.heartbeat === 'keepalive') {
      sendFrame(link, { action: 'keepalive' });
      return;
    }
    sendFrame(link, { action: 'ping' });
    if (link.pongDeadline === undefined) link.pongDeadline = startTimer(onSilent, settings.pongTimeoutMs);
  }, settings.heartbeatIntervalMs);
}

/** A frame arrived: any frame proves the connection alive, not only a pong. */
export function heard(link: Link): void {
  clearTimeout(link.pongDeadline);
  link.pongDeadline = undefined;
}

/** Marks a link ended and stops everything it would still do: its socket's events and its timers. */
export function detachLink(link: Link): void {
  link.ended = true;
  const { socket } = link;
  // Keep a no-op `onerror`: `ws` emits `error` when a connecting socket is closed, and an
  // EventEmitter `error` without a listener throws.
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop;
  clearInterval(link.heartbeat);
  for (const timer of [link.pongDeadline, link.stable, link.cap, link.handoverDeadline]) clearTimeout(timer);
}

/** Closes a link's socket with a normal closure (a socket still connecting is simply aborted). */
export function closeSocket(link: Link, reason: string): void {
  try {
    if (link.opened) link.socket.close(1000, reason);
    else link.socket.close();
  } catch {
    // Already closing or closed.
  }
}

/**
 * Drops a link presumed dead. A half-open connection would make `close()` wait for a closing
 * handshake that never comes (30 s in `ws`); `terminate()` (ws only) drops it now.
 */
export function terminateSocket(link: Link): void {
  const { socket } = link as { socket: WebSocketLike & { terminate?: () => void } };
  try {
    if (typeof socket.terminate === 'function') socket.terminate();
    else socket.close(4000, 'heartbeat timeout');
  } catch {
    // Already gone.
  }
}

export function closeText(event: CloseEventLike): string {
  return `closed with code ${event.code}${event.reason === '' ? '' : ` (${event.reason})`}`;
}
