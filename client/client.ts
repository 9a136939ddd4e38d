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
 * A proactive handover (before the 2-hour cap) stays in `open`: see `#handover`.
 */
import type {
  ConnectedMessage,
  EventMessage,
  RefreshedMessage,
  ServerMessage,
  SubscribedMessage,
} from '../core/protocol.js';
import { fullJitterDelay } from './backoff.js';
import { type ChannelEntry, createChannelEntry, type Waiter } from './channel-entry.js';
import { sequenceNumber } from './channel-sequence.js';
import { Emitter, rethrowLater, type Unlisten } from './emitter.js';
import { SwitchboardError } from './errors.js';
import {
  closeSocket,
  closeText,
  detachLink,
  heard,
  isLive,
  type Link,
  openLink,
  sendFrame,
  startHeartbeat,
  terminateSocket,
} from './link.js';
import { type ClientOptions, resolveOptions, type Settings } from './options.js';
import { RecentIds } from './recent-ids.js';
import { Reconnector, TokenSource } from './reconnect.js';
import { type CallRequest, Requests, type SubscribeRequest, type UnsubscribeRequest } from './requests.js';
import { readServerMessage } from './server-message.js';
import { noop, startTimer, type Timer } from './timers.js';
import type {
  ChannelGap,
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

/** Server errors worth retrying a subscription for: the same request may well succeed later. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['rate_limited', 'internal_error']);

class SwitchboardClient implements Client {
  readonly #settings: Settings;
  readonly #events = new Emitter<ClientEvents>();
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #recent = new Map<string, RecentIds>();
  readonly #requests: Requests;
  #state: ClientState = 'connecting';
  #active: Link | undefined;
  #standby: Link | undefined;
  #everOpened = false;
  readonly #tokens: TokenSource;
  readonly #reconnect: Reconnector;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.#requests = new Requests(settings.requestTimeoutMs);
    this.#tokens = new TokenSource(settings.token);
    this.#reconnect = new Reconnector(settings.reconnect, this.#tokens);
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
    // A fresh function per call: the same handler subscribed twice is two subscriptions.
    const listener: EventHandler =
      typeof handler === 'function'
        ? (event) => handler(event)
        : (event) => handler[event.event_type]?.(event);
    if (this.#state === 'closed') {
      return subscription(channel, Promise.reject(closedError(channel)), () => Promise.resolve());
    }
    let entry = this.#channels.get(channel);
    const isNew = entry === undefined;
    if (entry === undefined) {
      entry = createChannelEntry(channel);
      this.#channels.set(channel, entry);
    }
    const current = entry;
    current.listeners.add(listener);
    const { onGap } = options;
    if (typeof onGap === 'function') current.gapListeners.set(listener, (gap) => onGap(gap));
    let waiter: Waiter | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      if (current.confirmed) resolve();
      else {
        waiter = { resolve, reject };
        current.waiters.push(waiter);
      }
    });
    // A joiner of an unconfirmed channel whose request was lost (timed out) sends a new one.
    if (
      isNew ||
      (!current.confirmed && current.retry === undefined && !this.#requests.subscribing(current))
    ) {
      for (const link of this.#liveLinks()) this.#sendSubscribe(link, current);
    }
    let unsubscribed = false;
    const unsubscribe = (): Promise<void> => {
      if (unsubscribed) return Promise.resolve();
      unsubscribed = true;
      const index = waiter === undefined ? -1 : current.waiters.indexOf(waiter);
      if (index >= 0) {
        current.waiters.splice(index, 1);
        waiter?.reject(
          new SwitchboardError('cancelled', `unsubscribed from ${channel} before it was confirmed`, {
            channel,
          }),
        );
      }
      const done = this.#removeListener(current, listener);
      done.catch(noop);
      return done;
    };
    return subscription(channel, ready, unsubscribe);
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
    if (link === this.#standby) {
      this.#resubscribeStandby(link);
      return;
    }
    if (link !== this.#active) return;
    this.#reconnect.connected();
    const reconnected = this.#everOpened;
    this.#everOpened = true;
    this.#state = 'open';
    this.#startConnectionTimers(link);
    for (const entry of this.#channels.values()) this.#sendSubscribe(link, entry);
    this.#requests.flush(link);
    this.#events.emit('open', { reconnected });
  }

  #startConnectionTimers(link: Link): void {
    const { reconnect, heartbeatIntervalMs, pongTimeoutMs, maxConnectionAgeMs } = this.#settings;
    link.stable = startTimer(() => this.#reconnect.stable(), reconnect.stableAfterMs);
    startHeartbeat(link, heartbeatIntervalMs, pongTimeoutMs, () => this.#presumeDead(link));
    // Counted from the handshake, as API Gateway counts its 2 hours (a promoted standby opened earlier).
    const age = Date.now() - link.openedAt;
    link.cap = startTimer(() => this.#handover(link), Math.max(0, maxConnectionAgeMs - age));
  }

  #onClose(link: Link, event: CloseEventLike): void {
    if (link.ended) return;
    const wasOpen = link.opened;
    this.#endLink(link);
    if (link === this.#standby) {
      // A failed handover: the current connection carries on, and if API Gateway cuts it at the
      // cap, the ordinary reconnection takes over.
      this.#standby = undefined;
      this.#events.emit(
        'error',
        new SwitchboardError('connection_failed', `the handover connection ${closeText(event)}`),
      );
      return;
    }
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
    const standby = this.#standby;
    if (standby?.opened === true) {
      // The handover's connection is up and (being) subscribed: it simply takes over.
      this.#promote(standby);
      return;
    }
    if (standby !== undefined) {
      this.#standby = undefined;
      this.#abandon(standby);
    }
    for (const entry of this.#channels.values()) entry.confirmed = false;
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
    for (const link of [this.#active, this.#standby]) if (link !== undefined) this.#abandon(link);
    this.#active = undefined;
    this.#standby = undefined;
    const reason = error ?? closedError();
    for (const entry of this.#channels.values()) {
      clearTimeout(entry.retry);
      clearTimeout(entry.gapTimer);
      for (const waiter of entry.waiters.splice(0)) waiter.reject(reason);
    }
    this.#channels.clear();
    this.#recent.clear();
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

  /**
   * Replaces a connection before API Gateway's 2-hour cap, make-before-break: the new connection
   * is opened and resubscribed while the old one still delivers, and the old one is closed only
   * once every resubscription is answered (or `requestTimeoutMs` passes). Break-before-make would
   * be simpler but loses whatever is published in the gap, and until history and `since` exist
   * nothing could recover it; the overlap's duplicates are dropped by (channel, id) instead.
   * State stays `open` throughout.
   */
  #handover(old: Link): void {
    if (old.ended || old !== this.#active || this.#standby !== undefined) return;
    this.#tokens.next().then(
      (token) => {
        if (old.ended || old !== this.#active || this.#standby !== undefined || this.#state === 'closed')
          return;
        try {
          this.#standby = this.#openLink(token);
        } catch (cause) {
          this.#events.emit(
            'error',
            new SwitchboardError('connection_failed', 'the handover failed', {}, { cause }),
          );
        }
      },
      (cause: unknown) => {
        if (this.#state === 'closed') return;
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

  #resubscribeStandby(link: Link): void {
    for (const entry of this.#channels.values()) this.#sendSubscribe(link, entry);
    if (link.awaiting.size === 0) this.#promote(link);
    else link.handoverDeadline = startTimer(() => this.#promote(link), this.#settings.requestTimeoutMs);
  }

  #promote(link: Link): void {
    if (link.ended || link !== this.#standby) return;
    clearTimeout(link.handoverDeadline);
    link.handoverDeadline = undefined;
    this.#standby = undefined;
    const old = this.#active;
    this.#active = link;
    this.#reconnect.connected();
    this.#startConnectionTimers(link);
    // Calls in flight on the old connection are queued again by #endLink and re-sent here.
    if (old !== undefined) this.#abandon(old, 'replaced before the connection time limit');
    this.#requests.flush(link);
  }

  // Requests and replies --------------------------------------------------------------------

  /** The connections that can carry requests now: the current one, and a handover's. */
  #liveLinks(): Link[] {
    return [this.#active, this.#standby].filter(isLive);
  }

  /**
   * The subscribe request for a channel. With `since` (the last `seq` delivered, or the baseline
   * of the first `subscribed`), every resubscription (reconnection, handover, or a request for a
   * missing `seq`) has the server replay what came after it, before it answers.
   */
  #subscribeMessage(request: SubscribeRequest): Record<string, unknown> {
    const { entry, id, since } = request;
    return since === undefined
      ? { action: 'subscribe', channel: entry.channel, id }
      : { action: 'subscribe', channel: entry.channel, id, since };
  }

  #sendSubscribe(link: Link, entry: ChannelEntry, repair = false): void {
    const request: SubscribeRequest = {
      kind: 'subscribe',
      id: this.#requests.newId(),
      link,
      entry,
      since: entry.sequence.lastSeq,
      seenBefore: entry.sequence.highestSeen,
      repair,
      timer: undefined,
    };
    request.timer = startTimer(() => this.#subscribeTimedOut(request), this.#settings.requestTimeoutMs);
    if (link === this.#standby) link.awaiting.add(request.id);
    // A request in flight answers for the gap timer: its reply settles what is held.
    clearTimeout(entry.gapTimer);
    entry.gapTimer = undefined;
    this.#requests.send(request, this.#subscribeMessage(request));
  }

  #sendUnsubscribe(link: Link, channel: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const request: UnsubscribeRequest = {
        kind: 'unsubscribe',
        id: this.#requests.newId(),
        link,
        channel,
        resolve,
        reject,
        timer: undefined,
      };
      request.timer = startTimer(() => {
        this.#requests.drop(request);
        reject(
          new SwitchboardError('timeout', `no reply to unsubscribe ${channel}`, {
            channel,
            requestId: request.id,
          }),
        );
      }, this.#settings.requestTimeoutMs);
      this.#requests.send(request, { action: 'unsubscribe', channel, id: request.id });
    });
  }

  #removeListener(entry: ChannelEntry, listener: EventHandler): Promise<void> {
    if (this.#channels.get(entry.channel) !== entry || !entry.listeners.delete(listener))
      return Promise.resolve();
    entry.gapListeners.delete(listener);
    if (entry.listeners.size > 0) return Promise.resolve();
    this.#forget(entry);
    const sent = this.#liveLinks().map((link) => this.#sendUnsubscribe(link, entry.channel));
    return Promise.all(sent).then(
      () => undefined,
      (error: SwitchboardError) => {
        this.#events.emit('error', error);
        throw error;
      },
    );
  }

  #forget(entry: ChannelEntry): void {
    clearTimeout(entry.retry);
    entry.retry = undefined;
    clearTimeout(entry.gapTimer);
    entry.gapTimer = undefined;
    this.#channels.delete(entry.channel);
    this.#recent.delete(entry.channel);
  }

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
        this.#onEvent(message);
        break;
      case 'subscribed':
        this.#onSubscribed(link, message);
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

  #onSubscribed(link: Link, message: SubscribedMessage): void {
    const request = this.#requests.take(link, message.id, 'subscribe', message.channel);
    if (request?.kind !== 'subscribe') return;
    const { entry } = request;
    if (this.#channels.get(entry.channel) === entry) {
      entry.failures = 0;
      entry.confirmed = true;
      for (const waiter of entry.waiters.splice(0)) waiter.resolve();
      // Read tolerantly: an older server sends neither `recovered` nor `next`.
      const { recovered, next } = message as { readonly recovered?: unknown; readonly next?: unknown };
      this.#resumed(request, sequenceNumber(message.seq), recovered === false, sequenceNumber(next));
    }
    this.#answered(request);
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
    if (request.kind === 'subscribe' && request.repair) {
      // The channel is still subscribed; only the missing events are out of reach.
      this.#events.emit('error', error);
      this.#answered(request);
      this.#repairFailed(request.entry);
    } else if (request.kind === 'subscribe') {
      this.#subscribeRefused(request, error);
      this.#answered(request);
      this.#settle(request.entry);
    } else {
      if (request.kind === 'unsubscribe') this.#events.emit('error', error);
      request.reject(error);
    }
  }

  /** A handover's resubscription was answered: promote once all of them are. */
  #answered(request: SubscribeRequest): void {
    const { link } = request;
    if (link.awaiting.delete(request.id) && link.awaiting.size === 0) this.#promote(link);
  }

  #subscribeRefused(request: SubscribeRequest, error: SwitchboardError): void {
    const { entry, link } = request;
    if (this.#channels.get(entry.channel) !== entry) return;
    const { reconnect } = this.#settings;
    if (TRANSIENT_CODES.has(error.code) && entry.failures < reconnect.maxAttempts) {
      // Resubscribing many channels at once after a reconnection can trip the rate limit:
      // retry this one later rather than drop it.
      const delay = fullJitterDelay(entry.failures, reconnect);
      entry.failures += 1;
      clearTimeout(entry.retry);
      entry.retry = setTimeout(() => {
        entry.retry = undefined;
        if (this.#channels.get(entry.channel) === entry && !link.ended) this.#sendSubscribe(link, entry);
      }, delay);
      return;
    }
    this.#forget(entry);
    this.#failWaiters(entry, error);
  }

  #subscribeTimedOut(request: SubscribeRequest): void {
    this.#requests.drop(request);
    const { entry } = request;
    if (this.#channels.get(entry.channel) === entry && !entry.confirmed) {
      // The subscription stays wanted: it is sent again on the next connection, or when another
      // handler joins the channel. Only the callers waiting now are told.
      const error = new SwitchboardError('timeout', `no reply to subscribe ${entry.channel}`, {
        channel: entry.channel,
        requestId: request.id,
      });
      this.#failWaiters(entry, error);
    }
    this.#answered(request);
    if (request.repair) this.#repairFailed(entry);
    else this.#settle(entry);
  }

  #failWaiters(entry: ChannelEntry, error: SwitchboardError): void {
    for (const waiter of entry.waiters.splice(0)) waiter.reject(error);
    this.#events.emit('error', error);
  }

  // Ordering and recovery ---------------------------------------------------------------------
  //
  // Per channel: an event without `seq` (a server without history) is delivered at once. One with
  // `seq` goes through the channel's `ChannelSequence`: at or below `lastSeq` it is stale and
  // dropped; the next number is delivered with whatever held events follow on; anything further is
  // held. Held events wait `gapTimeoutMs` for the missing number, then a subscribe with `since`
  // asks the server to replay it. A `subscribed` reply with `seq` S settles everything up to S: the
  // server replays before it answers, so a number up to S still missing does not exist (allocated,
  // never stored) and is stepped over. A reply with `next` N (the server's replay budget ran out)
  // settles only up to N, and the same request is sent again with `since` N until a reply comes
  // without `next`. Every released event is finally deduplicated by id, which drops a redelivery
  // that came back under a new number.

  #onEvent(event: EventMessage): void {
    const entry = this.#channels.get(event.channel);
    // Not (or no longer) subscribed: an event in flight while unsubscribing.
    if (entry === undefined) return;
    const seq = sequenceNumber(event.seq);
    if (seq === undefined) {
      this.#deliver(entry, [event]);
      return;
    }
    this.#deliver(entry, entry.sequence.accept(seq, event));
    this.#settle(entry);
  }

  /** Calls the handlers with each event not delivered before (by id). */
  #deliver(entry: ChannelEntry, events: readonly EventMessage[]): void {
    for (const event of events) {
      // A handler may unsubscribe the channel's last listener mid-way.
      if (this.#channels.get(entry.channel) !== entry) return;
      let recent = this.#recent.get(entry.channel);
      if (recent === undefined) {
        recent = new RecentIds(this.#settings.dedupeWindow);
        this.#recent.set(entry.channel, recent);
      }
      if (!recent.remember(event.id)) continue;
      for (const listener of [...entry.listeners]) {
        try {
          listener(event);
        } catch (error) {
          // One failing handler must not starve the others or break the client.
          rethrowLater(error);
        }
      }
    }
  }

  /** A subscribe reply (or its timeout, or a refusal) will come and settle what is held. */
  #replyComing(entry: ChannelEntry): boolean {
    return entry.retry !== undefined || this.#requests.subscribing(entry);
  }

  /** Decides what to do about held events: nothing, wait for a reply, arm the gap timer, or release. */
  #settle(entry: ChannelEntry): void {
    if (this.#channels.get(entry.channel) !== entry) return;
    if (entry.sequence.heldCount === 0 || this.#replyComing(entry)) {
      clearTimeout(entry.gapTimer);
      entry.gapTimer = undefined;
      return;
    }
    if (entry.sequence.lastSeq === undefined) {
      // Held for want of a baseline, which no reply is coming to give: go from what arrived.
      // Offline, the resubscription on the next connection gives one.
      if (isLive(this.#active)) this.#deliver(entry, entry.sequence.release().events);
      return;
    }
    if (entry.gapTimer === undefined) {
      entry.gapTimer = setTimeout(() => this.#gapTimedOut(entry), this.#settings.gapTimeoutMs);
    }
  }

  #gapTimedOut(entry: ChannelEntry): void {
    entry.gapTimer = undefined;
    if (this.#channels.get(entry.channel) !== entry || this.#replyComing(entry)) return;
    const link = this.#active;
    // Offline: the resubscription on the next connection carries `since` and settles the gap.
    if (!isLive(link)) return;
    // On a channel not confirmed here (its resubscription timed out), this is the resubscription.
    this.#sendSubscribe(link, entry, entry.confirmed);
  }

  /**
   * A `subscribed` reply carrying the channel's sequence `seq` (undefined from an older server), and
   * `next` when the replay stopped early.
   */
  #resumed(
    request: SubscribeRequest,
    seq: number | undefined,
    notRetained: boolean,
    next: number | undefined,
  ): void {
    const { entry, since, seenBefore } = request;
    const { sequence } = entry;
    const lastSeq = sequence.lastSeq;
    if (seq === undefined) {
      // A server without history says nothing about what exists: go from what arrived.
      this.#releaseUnconfirmed(entry);
    } else if (since !== undefined && lastSeq !== undefined && seq < since) {
      // Behind a number delivered before asking (live events that overtook the reply may be
      // ahead of it; those are not): the server lost its sequence (DynamoDB Local runs in memory,
      // so restarting the local stack does this). Waiting for it to catch up would drop every
      // event until it does.
      sequence.reset(seq);
      this.#gap(entry, { channel: entry.channel, reason: 'reset', lastSeq, seq });
    } else {
      // A `next` that does not move forward from `since`, or reaches `seq`, leaves nothing to continue.
      const partial = next !== undefined && since !== undefined && since < next && next < seq;
      const released = sequence.release(partial ? next : seq);
      if (notRetained && lastSeq !== undefined) {
        // The replay resumed at the oldest event retained: the break ends just before it.
        const upTo = released.skippedTo ?? (partial ? next : seq);
        this.#gap(entry, { channel: entry.channel, reason: 'not_retained', lastSeq, seq: upTo });
      }
      this.#deliver(entry, released.events);
      if (partial && (sequence.lastSeq ?? 0) < seq) {
        // The held events past `next` wait for the rest of the replay, not for the gap timer.
        if (this.#channels.get(entry.channel) === entry && !request.link.ended)
          this.#sendSubscribe(request.link, entry, request.repair);
      } else if (seenBefore !== undefined && seenBefore > seq) {
        // Events received before asking were numbered before the server answered, so its `seq`
        // should cover them; if it does not, waiting for another answer may never end.
        this.#releaseUnconfirmed(entry, seenBefore);
      }
    }
    this.#settle(entry);
  }

  /** The request for a missing `seq` was refused or went unanswered: step over it. */
  #repairFailed(entry: ChannelEntry): void {
    if (this.#channels.get(entry.channel) !== entry) return;
    this.#releaseUnconfirmed(entry);
    this.#settle(entry);
  }

  /** Releases what is held up to `upTo` (all of it by default); a missing `seq` stepped over is a gap. */
  #releaseUnconfirmed(entry: ChannelEntry, upTo?: number): void {
    const lastSeq = entry.sequence.lastSeq;
    const { events, skippedTo } = entry.sequence.release(upTo);
    if (lastSeq !== undefined && skippedTo !== undefined) {
      this.#gap(entry, { channel: entry.channel, reason: 'unconfirmed', lastSeq, seq: skippedTo });
    }
    this.#deliver(entry, events);
  }

  #gap(entry: ChannelEntry, gap: ChannelGap): void {
    this.#events.emit('gap', gap);
    for (const onGap of [...entry.gapListeners.values()]) {
      try {
        onGap(gap);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }
}

function subscription(channel: string, ready: Promise<void>, unsubscribe: () => Promise<void>): Subscription {
  // Awaiting is optional (the handler receives the events either way), and Node ends the process
  // on an unhandled rejection; failures are also reported through the `error` event.
  ready.catch(noop);
  return Object.assign(ready, { channel, unsubscribe });
}

function closedError(channel?: string): SwitchboardError {
  return new SwitchboardError('closed', 'the client is closed', channel === undefined ? {} : { channel });
}
