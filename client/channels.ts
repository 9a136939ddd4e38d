/**
 * The channels the application subscribed to: their handlers, their subscribe and unsubscribe
 * requests and replies, the retry of a refused subscription, and their resubscription on every
 * new connection. What happens to each channel's events is `Ordering`'s business.
 */
import type { EventMessage, SubscribedMessage } from '../core/protocol.js';
import { fullJitterDelay } from './backoff.js';
import { type ChannelEntry, createChannelEntry, type Waiter } from './channel-entry.js';
import { sequenceNumber } from './channel-sequence.js';
import type { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import type { Link } from './link.js';
import type { Settings } from './options.js';
import { Ordering } from './ordering.js';
import { isPattern, patternChannel, patternsMatching } from './patterns.js';
import type { Requests, SubscribeRequest, UnsubscribeRequest } from './requests.js';
import { noop, startTimer } from './timers.js';
import type { ClientEvents, EventHandler, EventHandlerMap, SubscribeOptions, Subscription } from './types.js';

/** Server errors worth retrying a subscription for: the same request may well succeed later. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['rate_limited', 'internal_error']);

/** What the channels need from the connection. */
export interface ChannelLinks {
  /** The links that can carry requests now: the current one, and a handover's. */
  live(): Link[];
  /** The current link, when it is open. */
  current(): Link | undefined;
  /** A subscribe went out on `link`: a handover waits for its answer before taking over. */
  sent(link: Link, requestId: string): void;
  /** A subscribe on `link` was answered, refused or timed out. */
  answered(link: Link, requestId: string): void;
}

export class Channels {
  readonly #settings: Settings;
  readonly #events: Emitter<ClientEvents>;
  readonly #requests: Requests;
  readonly #links: ChannelLinks;
  readonly #ordering: Ordering;
  readonly #entries = new Map<string, ChannelEntry>();

  constructor(settings: Settings, events: Emitter<ClientEvents>, requests: Requests, links: ChannelLinks) {
    this.#settings = settings;
    this.#events = events;
    this.#requests = requests;
    this.#links = links;
    this.#ordering = new Ordering(settings.gapTimeoutMs, events, requests, {
      isCurrent: (entry) => this.#isCurrent(entry),
      currentLink: () => links.current(),
      // A pattern's channel cannot be resumed with `since` (PROTOCOL §8): its gap is stepped over.
      resubscribe: (link, entry, repair) =>
        entry.pattern ? this.#ordering.repairFailed(entry) : this.#sendSubscribe(link, entry, repair),
    });
  }

  /** Adds a handler to `channel`, subscribing it on the wire when it is the first. */
  subscribe(
    channel: string,
    handler: EventHandler | EventHandlerMap,
    options: SubscribeOptions,
  ): Subscription {
    // A fresh function per call: the same handler subscribed twice is two subscriptions.
    const listener: EventHandler =
      typeof handler === 'function'
        ? (event) => handler(event)
        : (event) => handler[event.event_type]?.(event);
    let entry = this.#entries.get(channel);
    const isNew = entry === undefined;
    if (entry === undefined) {
      entry = createChannelEntry(channel, this.#settings.dedupeWindow);
      // The first subscribe then asks for what followed `since`, as a resubscription would.
      if (options.since !== undefined) entry.sequence.reset(options.since);
      this.#entries.set(channel, entry);
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
      for (const link of this.#links.live()) this.#sendSubscribe(link, current);
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

  /** A link opened (the current one or a handover's): every channel is subscribed on it. */
  resubscribe(link: Link): void {
    for (const entry of this.#entries.values()) this.#sendSubscribe(link, entry);
  }

  /** The connection dropped: no channel is confirmed until it is resubscribed. */
  disconnected(): void {
    for (const entry of this.#entries.values()) entry.confirmed = false;
  }

  /** The client closed: every channel is dropped, and whoever waits for one is told `reason`. */
  close(reason: SwitchboardError): void {
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.retry);
      clearTimeout(entry.gapTimer);
      for (const child of entry.channels?.values() ?? []) clearTimeout(child.gapTimer);
      for (const waiter of entry.waiters.splice(0)) waiter.reject(reason);
    }
    this.#entries.clear();
  }

  /**
   * An `event` frame: handed to its channel's ordering, and to that of each pattern it matches.
   * The server sends it once however the connection subscribed; each subscription's handlers get it.
   */
  onEvent(event: EventMessage): void {
    const entry = this.#entries.get(event.channel);
    // Not (or no longer) subscribed: an event in flight while unsubscribing.
    if (entry !== undefined) this.#ordering.onEvent(entry, event);
    let handled = entry !== undefined;
    for (const name of patternsMatching(event.channel)) {
      const pattern = this.#entries.get(name);
      if (pattern === undefined) continue;
      const child = patternChannel(pattern, event.channel, this.#settings.dedupeWindow, (idle) =>
        this.#evict(idle),
      );
      this.#ordering.onEvent(child, event);
      handled = true;
    }
    // Sent without a subscription (PROTOCOL §6): a broadcast, or a message to this user or this
    // connection. Handed over as it comes; subscribing to the channel orders and recovers them.
    if (!handled && isAddressedWithoutSubscription(event.channel)) this.#events.emit('direct', event);
  }

  #isCurrent(entry: ChannelEntry): boolean {
    if (entry.pattern === undefined) return this.#entries.get(entry.channel) === entry;
    return this.#isCurrent(entry.pattern) && entry.pattern.channels?.get(entry.channel) === entry;
  }

  /** Forgets a pattern's channel, delivering first what it holds. */
  #evict(entry: ChannelEntry): void {
    if (entry.sequence.heldCount > 0) this.#ordering.repairFailed(entry);
    clearTimeout(entry.gapTimer);
    entry.pattern?.channels?.delete(entry.channel);
  }

  /** A `subscribed` reply: confirms the channel and resumes it from the `seq` it carries. */
  onSubscribed(link: Link, message: SubscribedMessage): void {
    const request = this.#requests.take(link, message.id, 'subscribe', message.channel);
    if (request?.kind !== 'subscribe') return;
    const { entry } = request;
    if (this.#entries.get(entry.channel) === entry) {
      entry.failures = 0;
      entry.confirmed = true;
      for (const waiter of entry.waiters.splice(0)) waiter.resolve();
      // Read tolerantly: an older server sends neither `recovered` nor `next`.
      const { recovered, next } = message as { readonly recovered?: unknown; readonly next?: unknown };
      this.#ordering.resumed(request, sequenceNumber(message.seq), recovered === false, sequenceNumber(next));
    }
    this.#answered(request);
  }

  /** An `error` reply to a subscribe request. */
  subscribeFailed(request: SubscribeRequest, error: SwitchboardError): void {
    if (request.repair) {
      // The channel is still subscribed; only the missing events are out of reach.
      this.#events.emit('error', error);
      this.#answered(request);
      this.#ordering.repairFailed(request.entry);
    } else {
      this.#subscribeRefused(request, error);
      this.#answered(request);
      this.#ordering.settle(request.entry);
    }
  }

  #answered(request: SubscribeRequest): void {
    this.#links.answered(request.link, request.id);
  }

  #subscribeRefused(request: SubscribeRequest, error: SwitchboardError): void {
    const { entry, link } = request;
    if (this.#entries.get(entry.channel) !== entry) return;
    const { reconnect } = this.#settings;
    if (TRANSIENT_CODES.has(error.code) && entry.failures < reconnect.maxAttempts) {
      // Resubscribing many channels at once after a reconnection can trip the rate limit:
      // retry this one later rather than drop it.
      const delay = fullJitterDelay(entry.failures, reconnect);
      entry.failures += 1;
      clearTimeout(entry.retry);
      entry.retry = setTimeout(() => {
        entry.retry = undefined;
        if (this.#entries.get(entry.channel) === entry && !link.ended) this.#sendSubscribe(link, entry);
      }, delay);
      return;
    }
    this.#forget(entry);
    this.#failWaiters(entry, error);
  }

  #subscribeTimedOut(request: SubscribeRequest): void {
    this.#requests.drop(request);
    const { entry } = request;
    if (this.#entries.get(entry.channel) === entry && !entry.confirmed) {
      // The subscription stays wanted: it is sent again on the next connection, or when another
      // handler joins the channel. Only the callers waiting now are told.
      const error = new SwitchboardError('timeout', `no reply to subscribe ${entry.channel}`, {
        channel: entry.channel,
        requestId: request.id,
      });
      this.#failWaiters(entry, error);
    }
    this.#answered(request);
    if (request.repair) this.#ordering.repairFailed(entry);
    else this.#ordering.settle(entry);
  }

  #failWaiters(entry: ChannelEntry, error: SwitchboardError): void {
    for (const waiter of entry.waiters.splice(0)) waiter.reject(error);
    this.#events.emit('error', error);
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
      // A pattern has no `seq` of its own, and the server refuses `since` with one.
      since: isPattern(entry.channel) ? undefined : entry.sequence.lastSeq,
      seenBefore: entry.sequence.highestSeen,
      repair,
      timer: undefined,
    };
    request.timer = startTimer(() => this.#subscribeTimedOut(request), this.#settings.requestTimeoutMs);
    this.#links.sent(link, request.id);
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
    if (this.#entries.get(entry.channel) !== entry || !entry.listeners.delete(listener))
      return Promise.resolve();
    entry.gapListeners.delete(listener);
    if (entry.listeners.size > 0) return Promise.resolve();
    this.#forget(entry);
    const sent = this.#links.live().map((link) => this.#sendUnsubscribe(link, entry.channel));
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
    for (const child of entry.channels?.values() ?? []) clearTimeout(child.gapTimer);
    this.#entries.delete(entry.channel);
  }
}

export function subscription(
  channel: string,
  ready: Promise<void>,
  unsubscribe: () => Promise<void>,
): Subscription {
  // Awaiting is optional (the handler receives the events either way), and Node ends the process
  // on an unhandled rejection; failures are also reported through the `error` event.
  ready.catch(noop);
  return Object.assign(ready, { channel, unsubscribe });
}

/** Channels the server delivers to a connection that never subscribed to them (PROTOCOL §6). */
function isAddressedWithoutSubscription(channel: string): boolean {
  return channel === 'broadcast' || channel.startsWith('user:') || channel.startsWith('connection:');
}
