/**
 * The connection state machine: one logical connection over successive links, which survives
 * drops, token expiry and API Gateway's connection cap.
 *
 * Shape of the state machine (the client's `state` getter and the events of the same names):
 *
 *   connecting ──open──▶ open ──drop──▶ reconnecting ──open──▶ open ...
 *        └──fail──▶ reconnecting           (one `reconnecting` event per scheduled retry)
 *   any ──close() / refusal / attempts exhausted──▶ closed (terminal)
 *
 * A proactive handover (before the 2-hour cap) stays in `open`: see `handover.ts`. What goes over
 * a link (subscriptions, calls) is the host's business: the connection only tells it when a link
 * opens, ends or delivers a frame.
 */
import type { ServerMessage } from '../core/protocol.js';
import type { Emitter } from './emitter.js';
import { closedError, SwitchboardError } from './errors.js';
import { Handover } from './handover.js';
import {
  closeSocket,
  closeText,
  detachLink,
  heard,
  isLive,
  type Link,
  openLink,
  startHeartbeat,
  terminateSocket,
} from './link.js';
import type { Settings } from './options.js';
import { Reconnector, type TokenSource } from './reconnect.js';
import { readServerMessage } from './server-message.js';
import { startTimer } from './timers.js';
import type { ClientEvents, ClientState } from './types.js';
import type { CloseEventLike } from './websocket.js';

/** What the connection tells the rest of the client. */
export interface ConnectionHost {
  /** A link opened, the current one or a handover's: every channel is subscribed on it. */
  resubscribe(link: Link): void;
  /** A link became the one in use: the calls waiting for a connection go out on it. */
  flushCalls(link: Link): void;
  /** A link ended: what was in flight on it is settled, or queued again. */
  linkEnded(link: Link): void;
  /** The connection dropped and no handover took over: no channel is confirmed any more. */
  disconnected(): void;
  /** A server frame arrived on a link. */
  message(link: Link, message: ServerMessage): void;
  /** The client closed for good: whatever still waits fails with `reason`. */
  closed(reason: SwitchboardError): void;
}

export class Connection {
  readonly #settings: Settings;
  readonly #events: Emitter<ClientEvents>;
  readonly #tokens: TokenSource;
  readonly #host: ConnectionHost;
  readonly #reconnect: Reconnector;
  readonly #handover: Handover;
  #state: ClientState = 'connecting';
  #active: Link | undefined;
  #everOpened = false;

  constructor(settings: Settings, events: Emitter<ClientEvents>, tokens: TokenSource, host: ConnectionHost) {
    this.#settings = settings;
    this.#events = events;
    this.#tokens = tokens;
    this.#host = host;
    this.#reconnect = new Reconnector(settings.reconnect, tokens);
    this.#handover = new Handover(settings.requestTimeoutMs, tokens, events, {
      active: () => this.#active,
      isClosed: () => this.#state === 'closed',
      open: (token) => this.#openLink(token),
      resubscribe: (link) => host.resubscribe(link),
      takeOver: (link) => this.#promote(link),
      abandon: (link) => this.#abandon(link),
    });
    // Dial on the next microtask, so listeners registered right after createClient() see `connecting`.
    queueMicrotask(() => {
      if (this.#state === 'closed') return;
      this.#events.emit('connecting', undefined);
      void this.#dial();
    });
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The links that can carry requests now: the current one, and a handover's. */
  live(): Link[] {
    return [this.#active, this.#handover.link].filter(isLive);
  }

  /** The current link, when it is open. */
  current(): Link | undefined {
    return isLive(this.#active) ? this.#active : undefined;
  }

  /** A subscribe went out on `link`: a handover waits for its answer before taking over. */
  sent(link: Link, requestId: string): void {
    this.#handover.sent(link, requestId);
  }

  /** A subscribe on `link` was answered, refused or timed out. */
  answered(link: Link, requestId: string): void {
    this.#handover.answered(link, requestId);
  }

  /** Closes the connection and stops reconnecting. Idempotent. */
  close(): void {
    this.#shutdown(undefined);
  }

  async #dial(): Promise<void> {
    let token: string | undefined;
    try {
      token = await this.#tokens.next();
    } catch (cause) {
      if (this.#state === 'closed') return;
      this.#retry(new SwitchboardError('connection_failed', 'the token provider failed', {}, { cause }));
      return;
    }
    if (this.#state === 'closed') return;
    const refused = this.#reconnect.refusedAgain(token);
    if (refused !== undefined) {
      this.#shutdown(refused);
      return;
    }
    try {
      this.#active = this.#openLink(token);
    } catch (cause) {
      // The constructor throws synchronously for what no retry can fix (a subprotocol the browser
      // rejects, an implementation that is not a WebSocket).
      this.#shutdown(
        new SwitchboardError('connection_failed', 'the WebSocket could not be created', {}, { cause }),
      );
    }
  }

  #openLink(token: string | undefined): Link {
    return openLink(this.#settings, token, {
      open: (link) => this.#onOpen(link),
      message: (link, data) => this.#onMessage(link, data),
      close: (link, event) => this.#onClose(link, event),
    });
  }

  #onMessage(link: Link, data: unknown): void {
    if (link.ended) return;
    heard(link);
    const message = readServerMessage(data);
    if (message !== undefined) this.#host.message(link, message);
  }

  #onOpen(link: Link): void {
    if (link.ended) return;
    link.opened = true;
    link.openedAt = Date.now();
    if (this.#handover.opened(link)) return;
    if (link !== this.#active) return;
    this.#reconnect.connected();
    const reconnected = this.#everOpened;
    this.#everOpened = true;
    this.#state = 'open';
    this.#startConnectionTimers(link);
    this.#host.resubscribe(link);
    this.#host.flushCalls(link);
    this.#events.emit('open', { reconnected });
  }

  #startConnectionTimers(link: Link): void {
    const { reconnect, maxConnectionAgeMs } = this.#settings;
    link.stable = startTimer(() => this.#reconnect.stable(), reconnect.stableAfterMs);
    startHeartbeat(link, this.#settings, () => this.#presumeDead(link));
    // Counted from the handshake, as API Gateway counts its 2 hours (a promoted standby opened earlier).
    const age = Date.now() - link.openedAt;
    link.cap = startTimer(() => this.#handover.start(link), Math.max(0, maxConnectionAgeMs - age));
  }

  #onClose(link: Link, event: CloseEventLike): void {
    if (link.ended) return;
    const wasOpen = link.opened;
    this.#endLink(link);
    if (this.#handover.failed(link, event)) return;
    if (link !== this.#active) return;
    this.#active = undefined;
    if (wasOpen)
      this.#connectionLost(new SwitchboardError('connection_failed', `the connection ${closeText(event)}`));
    else this.#handshakeFailed(link, event);
  }

  #handshakeFailed(link: Link, event: CloseEventLike): void {
    const { final, error } = this.#reconnect.judgeHandshake(link.token, link.handshakeError, event);
    if (final) this.#shutdown(error);
    else this.#retry(error);
  }

  #connectionLost(error: SwitchboardError): void {
    if (this.#handover.rescue()) return;
    this.#host.disconnected();
    this.#retry(error);
  }

  #retry(error: SwitchboardError): void {
    const retry = this.#reconnect.schedule(() => void this.#dial());
    if (retry === undefined) {
      this.#shutdown(this.#reconnect.gaveUp(error));
      return;
    }
    this.#state = 'reconnecting';
    this.#events.emit('reconnecting', { attempt: retry.attempt, delayMs: retry.delayMs, error });
  }

  /** Detaches a link from the client; what was in flight on it is re-sent or settled. */
  #endLink(link: Link): void {
    detachLink(link);
    this.#host.linkEnded(link);
  }

  #abandon(link: Link, reason = 'client closing'): void {
    this.#endLink(link);
    closeSocket(link, reason);
  }

  #shutdown(error: SwitchboardError | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#reconnect.cancel();
    if (this.#active !== undefined) this.#abandon(this.#active);
    this.#handover.cancel();
    this.#active = undefined;
    const reason = error ?? closedError();
    this.#host.closed(reason);
    this.#events.emit('closed', error === undefined ? {} : { error });
  }

  #presumeDead(link: Link): void {
    if (link.ended || link !== this.#active) return;
    this.#endLink(link);
    this.#active = undefined;
    terminateSocket(link);
    const ms = this.#settings.pongTimeoutMs;
    this.#connectionLost(new SwitchboardError('timeout', `no reply to a heartbeat within ${ms} ms`));
  }

  /** A handover's link takes over from the one in use. */
  #promote(link: Link): void {
    const old = this.#active;
    this.#active = link;
    this.#reconnect.connected();
    this.#startConnectionTimers(link);
    // Calls in flight on the old connection are queued again by #endLink and re-sent here.
    if (old !== undefined) this.#abandon(old, 'replaced before the connection time limit');
    this.#host.flushCalls(link);
  }
}
