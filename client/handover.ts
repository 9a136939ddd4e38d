/**
 * Make-before-break handover: replaces the link in use before API Gateway's 2-hour cap. The new
 * link is opened and resubscribed while the old one still delivers, and the old one is closed only
 * once every resubscription is answered (or `requestTimeoutMs` passes). Break-before-make would be
 * simpler but loses whatever is published in the gap, and until history and `since` exist
 * nothing could recover it; the overlap's duplicates are dropped by (channel, id) instead. The
 * client's state stays `open` throughout.
 */
import type { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import { closeText, type Link } from './link.js';
import type { TokenSource } from './reconnect.js';
import { startTimer } from './timers.js';
import type { ClientEvents } from './types.js';
import type { CloseEventLike } from './websocket.js';

/** What a handover needs from the connection whose link it replaces. */
export interface HandoverHost {
  /** The link in use now: the one a handover replaces. */
  active(): Link | undefined;
  isClosed(): boolean;
  /** Opens a link with `token` (throws what no retry can fix). */
  open(token: string | undefined): Link;
  /** Sends every channel's subscribe on the new link. */
  resubscribe(link: Link): void;
  /** Makes `link` the link in use, retiring the old one. */
  takeOver(link: Link): void;
  /** Ends a link that will not be used, closing its socket. */
  abandon(link: Link): void;
}

export class Handover {
  readonly #requestTimeoutMs: number;
  readonly #tokens: TokenSource;
  readonly #events: Emitter<ClientEvents>;
  readonly #host: HandoverHost;
  /** The link replacing the one in use, from its opening until it takes over. */
  #standby: Link | undefined;

  constructor(
    requestTimeoutMs: number,
    tokens: TokenSource,
    events: Emitter<ClientEvents>,
    host: HandoverHost,
  ) {
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#tokens = tokens;
    this.#events = events;
    this.#host = host;
  }

  /** The link being handed over to, if a handover is under way. */
  get link(): Link | undefined {
    return this.#standby;
  }

  /** Starts replacing `old` (the link in use) unless it is gone or a handover is under way. */
  start(old: Link): void {
    if (old.ended || old !== this.#host.active() || this.#standby !== undefined) return;
    this.#tokens.next().then(
      (token) => {
        if (old.ended || old !== this.#host.active() || this.#standby !== undefined || this.#host.isClosed())
          return;
        try {
          this.#standby = this.#host.open(token);
        } catch (cause) {
          this.#events.emit(
            'error',
            new SwitchboardError('connection_failed', 'the handover failed', {}, { cause }),
          );
        }
      },
      (cause: unknown) => {
        if (this.#host.isClosed()) return;
        this.#events.emit(
          'error',
          new SwitchboardError(
            'connection_failed',
            'the token provider failed before a handover',
            {},
            { cause },
          ),
        );
      },
    );
  }

  /** A link opened: when it is the handover's, it is resubscribed (true), otherwise nothing (false). */
  opened(link: Link): boolean {
    if (link !== this.#standby) return false;
    this.#host.resubscribe(link);
    if (link.awaiting.size === 0) this.#promote(link);
    else link.handoverDeadline = startTimer(() => this.#promote(link), this.#requestTimeoutMs);
    return true;
  }

  /** A subscribe went out on `link`: on the handover's link, its answer is waited for. */
  sent(link: Link, requestId: string): void {
    if (link === this.#standby) link.awaiting.add(requestId);
  }

  /** A subscribe on `link` was answered (or refused, or timed out): take over once all are. */
  answered(link: Link, requestId: string): void {
    if (link.awaiting.delete(requestId) && link.awaiting.size === 0) this.#promote(link);
  }

  /**
   * A link closed: when it is the handover's (true), the handover failed. The current connection
   * carries on, and if API Gateway cuts it at the cap, the ordinary reconnection takes over.
   */
  failed(link: Link, event: CloseEventLike): boolean {
    if (link !== this.#standby) return false;
    this.#standby = undefined;
    this.#events.emit(
      'error',
      new SwitchboardError('connection_failed', `the handover connection ${closeText(event)}`),
    );
    return true;
  }

  /**
   * The link in use was lost: a handover link that is up and (being) subscribed simply takes over
   * (true); one still connecting is given up (false, the client reconnects).
   */
  rescue(): boolean {
    const standby = this.#standby;
    if (standby?.opened === true) {
      this.#promote(standby);
      return true;
    }
    this.cancel();
    return false;
  }

  /** Gives up any handover under way. */
  cancel(): void {
    const standby = this.#standby;
    if (standby === undefined) return;
    this.#standby = undefined;
    this.#host.abandon(standby);
  }

  #promote(link: Link): void {
    if (link.ended || link !== this.#standby) return;
    clearTimeout(link.handoverDeadline);
    link.handoverDeadline = undefined;
    this.#standby = undefined;
    this.#host.takeOver(link);
  }
}
