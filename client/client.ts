/**
 * The Switchboard client: one logical connection that survives drops, token expiry and API
 * Gateway's connection cap, and keeps every subscription alive across them.
 *
 * Shape of the state machine (the `state` getter and the events of the same names):
 *
 *   connecting ──open──▶ open ──drop──▶ reconnecting ──open──▶ open ...
 *        └──fail──▶ reconnecting           (one `reconnecting` event per scheduled retry)
 *   any ──close() / refusal / attempts exhausted──▶ closed (terminal)
 *
 * A proactive handover (before the 2-hour cap) stays in `open`: see `handover.ts`.
 */
import type { ConnectedMessage, RefreshedMessage, ServerMessage } from '../core/protocol.js';
import { Channels, subscription } from './channels.js';
import { Emitter, type Unlisten } from './emitter.js';
import { SwitchboardError } from './errors.js';
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
import { type ClientOptions, resolveOptions, type Settings } from './options.js';
import { Reconnector, TokenSource } from './reconnect.js';
import { type CallRequest, Requests } from './requests.js';
import { readServerMessage } from './server-message.js';
import { startTimer } from './timers.js';
import type {
  Client,
  ClientEvents,
  ClientState,
  EventHandler,
  EventHandlerMap,
  SubscribeOptions,
  Subscription,
  WhoAmI,
} from './types.js';
import type { CloseEventLike } from './websocket.js';

/**
 * Creates a client and starts connecting at once. Throws `ClientOptionsError` for invalid options.
 */
export function createClient(options: ClientOptions): Client {
  return new SwitchboardClient(resolveOptions(options));
}

class SwitchboardClient implements Client {
  readonly #settings: Settings;
  readonly #events = new Emitter<ClientEvents>();
  readonly #channels: Channels;
  readonly #requests: Requests;
  #state: ClientState = 'connecting';
  #active: Link | undefined;
  readonly #handover: Handover;
  #everOpened = false;
  readonly #tokens: TokenSource;
  readonly #reconnect: Reconnector;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.#requests = new Requests(settings.requestTimeoutMs);
    this.#channels = new Channels(settings, this.#events, this.#requests, {
      live: () => [this.#active, this.#handover.link].filter(isLive),
      current: () => (isLive(this.#active) ? this.#active : undefined),
      sent: (link, requestId) => this.#handover.sent(link, requestId),
      answered: (link, requestId) => this.#handover.answered(link, requestId),
    });
    this.#tokens = new TokenSource(settings.token);
    this.#reconnect = new Reconnector(settings.reconnect, this.#tokens);
    this.#handover = new Handover(settings.requestTimeoutMs, this.#tokens, this.#events, {
      active: () => this.#active,
      isClosed: () => this.#state === 'closed',
      open: (token) => this.#openLink(token),
      resubscribe: (link) => this.#channels.resubscribe(link),
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

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): Unlisten {
    return this.#events.on(event, listener);
  }

  subscribe(
    channel: string,
    handler: EventHandler | EventHandlerMap,
    options: SubscribeOptions = {},
  ): Subscription {
    if (this.#state === 'closed') {
      return subscription(channel, Promise.reject(closedError(channel)), () => Promise.resolve());
    }
    return this.#channels.subscribe(channel, handler, options);
  }

  whoami(): Promise<WhoAmI> {
    return this.#call('whoami', {}).then((reply) => {
      const { connectionId, user, authorizedChannels, expiresAt } = reply as ConnectedMessage;
      return { connectionId, user, authorizedChannels, expiresAt };
    });
  }

  refresh(token: string): Promise<{ readonly expiresAt: string }> {
    if (typeof token !== 'string' || token === '') {
      return Promise.reject(new TypeError('refresh(token) needs a non-empty token string'));
    }
    // A fixed token would be refused at the next reconnection once it expires, so the new one
    // replaces it: at once while disconnected (the coming handshake needs it), otherwise once the
    // server has accepted it. A provider is asked on every handshake, so it stays in charge.
    const replacesToken = !this.#tokens.isProvider;
    if (replacesToken && this.#state !== 'open') this.#tokens.replace(token);
    return this.#call('refresh', { token }).then((reply) => {
      if (replacesToken && this.#state !== 'closed') this.#tokens.replace(token);
      return { expiresAt: (reply as RefreshedMessage).expiresAt };
    });
  }

  close(): void {
    this.#shutdown(undefined);
  }

  // Connecting ------------------------------------------------------------------------------

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
    this.#channels.resubscribe(link);
    this.#requests.flush(link);
    this.#events.emit('open', { reconnected });
  }

  #startConnectionTimers(link: Link): void {
    const { reconnect, heartbeatIntervalMs, pongTimeoutMs, maxConnectionAgeMs } = this.#settings;
    link.stable = startTimer(() => this.#reconnect.stable(), reconnect.stableAfterMs);
    startHeartbeat(link, heartbeatIntervalMs, pongTimeoutMs, () => this.#presumeDead(link));
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
    this.#channels.disconnected();
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
    this.#requests.linkEnded(link);
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
    this.#channels.close(reason);
    this.#requests.rejectQueued(reason);
    this.#events.emit('closed', error === undefined ? {} : { error });
  }

  // Heartbeat and handover ------------------------------------------------------------------

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
    this.#requests.flush(link);
  }

  // Requests and replies --------------------------------------------------------------------

  #call(kind: CallRequest['kind'], fields: Readonly<Record<string, string>>): Promise<ServerMessage> {
    if (this.#state === 'closed') return Promise.reject(closedError());
    return this.#requests.call(kind, fields, this.#active);
  }

  #onMessage(link: Link, data: unknown): void {
    if (link.ended) return;
    heard(link);
    const message = readServerMessage(data);
    if (message === undefined) return;
    switch (message.type) {
      case 'event':
        this.#channels.onEvent(message);
        break;
      case 'subscribed':
        this.#channels.onSubscribed(link, message);
        break;
      case 'unsubscribed': {
        const request = this.#requests.take(link, message.id, 'unsubscribe', message.channel);
        if (request?.kind === 'unsubscribe') request.resolve();
        break;
      }
      case 'connected':
      case 'refreshed': {
        const request = this.#requests.take(
          link,
          message.id,
          message.type === 'connected' ? 'whoami' : 'refresh',
        );
        if (request?.kind === 'whoami' || request?.kind === 'refresh') request.resolve(message);
        break;
      }
      case 'error':
        this.#onErrorReply(link, SwitchboardError.fromReply(message));
        break;
      default:
        // `pong`, and replies to requests this client does not make (`channels`, `stats`).
        break;
    }
  }

  #onErrorReply(link: Link, error: SwitchboardError): void {
    // Without an id, only an error naming a channel can be matched (to that channel's request).
    const request =
      error.requestId !== undefined || error.channel !== undefined
        ? this.#requests.take(link, error.requestId, undefined, error.channel)
        : undefined;
    if (request === undefined) {
      this.#events.emit('error', error);
      return;
    }
    if (request.kind === 'subscribe') this.#channels.subscribeFailed(request, error);
    else {
      if (request.kind === 'unsubscribe') this.#events.emit('error', error);
      request.reject(error);
    }
  }
}

function closedError(channel?: string): SwitchboardError {
  return new SwitchboardError('closed', 'the client is closed', channel === undefined ? {} : { channel });
}
