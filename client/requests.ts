/**
 * Requests and their replies: correlation ids, the requests sent and awaiting a reply, and the
 * calls (`whoami`, `refresh`) waiting for a connection. What a reply means is the caller's business.
 */
import type { ServerMessage } from '../core/protocol.js';
import type { ChannelEntry } from './channel-entry.js';
import { SwitchboardError } from './errors.js';
import { isLive, type Link, sendFrame } from './link.js';
import { startTimer, type Timer } from './timers.js';

export interface SubscribeRequest {
  readonly kind: 'subscribe';
  readonly id: string;
  readonly link: Link;
  readonly entry: ChannelEntry;
  /** The `since` sent: the channel's `lastSeq` then; absent before it had one. */
  readonly since: number | undefined;
  /** The highest `seq` received when it was sent: the answer's `seq` cannot honestly be lower. */
  readonly seenBefore: number | undefined;
  /** Sent on a subscribed channel to have a missing `seq` replayed, not to (re)subscribe it. */
  readonly repair: boolean;
  timer: Timer | undefined;
}

export interface UnsubscribeRequest {
  readonly kind: 'unsubscribe';
  readonly id: string;
  readonly link: Link;
  readonly channel: string;
  readonly resolve: () => void;
  readonly reject: (error: SwitchboardError) => void;
  timer: Timer | undefined;
}

/**
 * `whoami` / `refresh` / `presence` / `publish`: queued while there is no connection. A call whose
 * connection drops before its reply is sent again on the next one, except a publish: the server
 * may have published it already, and a second send would be a second event (with another id).
 */
export interface CallRequest {
  readonly kind: 'whoami' | 'refresh' | 'presence' | 'publish';
  readonly id: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly resolve: (reply: ServerMessage) => void;
  readonly reject: (error: SwitchboardError) => void;
  /** Runs from the call, so a request never waits forever for a connection. */
  timer: Timer | undefined;
  link: Link | undefined;
}

export type PendingRequest = SubscribeRequest | UnsubscribeRequest | CallRequest;

export class Requests {
  readonly #timeoutMs: number;
  /** Sent requests awaiting a reply, by correlation id. */
  readonly #pending = new Map<string, PendingRequest>();
  /** Calls waiting for a connection. */
  #queue: CallRequest[] = [];
  #lastId = 0;

  constructor(requestTimeoutMs: number) {
    this.#timeoutMs = requestTimeoutMs;
  }

  newId(): string {
    this.#lastId += 1;
    return String(this.#lastId);
  }

  /** Sends a subscribe or unsubscribe on its link; `take` matches its reply. */
  send(request: SubscribeRequest | UnsubscribeRequest, message: Readonly<Record<string, unknown>>): void {
    this.#pending.set(request.id, request);
    sendFrame(request.link, message);
  }

  /** A request given up on (it timed out): a late reply matches nothing. */
  drop(request: PendingRequest): void {
    this.#pending.delete(request.id);
  }

  /** Whether a subscribe request for `entry` awaits its reply. */
  subscribing(entry: ChannelEntry): boolean {
    for (const request of this.#pending.values()) {
      if (request.kind === 'subscribe' && request.entry === entry) return true;
    }
    return false;
  }

  /**
   * The request a reply answers: by correlation id, or, for a server that does not echo ids,
   * the oldest request of that kind (and channel) on the same connection.
   */
  take(
    link: Link,
    id: string | undefined,
    kind: PendingRequest['kind'] | undefined,
    channel?: string,
  ): PendingRequest | undefined {
    let found: PendingRequest | undefined;
    if (id !== undefined) {
      found = this.#pending.get(id);
      if (found !== undefined && kind !== undefined && found.kind !== kind) found = undefined;
    } else if (kind !== undefined || channel !== undefined) {
      for (const request of this.#pending.values()) {
        if (request.link !== link || (kind !== undefined && request.kind !== kind)) continue;
        if (channel !== undefined && channelOf(request) !== channel) continue;
        found = request;
        break;
      }
    }
    if (found === undefined) return undefined;
    this.#pending.delete(found.id);
    clearTimeout(found.timer);
    return found;
  }

  /** Sends a call on `link` when it is live, or queues it until `flush`; either way it times out. */
  call(
    kind: CallRequest['kind'],
    fields: Readonly<Record<string, unknown>>,
    link: Link | undefined,
  ): Promise<ServerMessage> {
    return new Promise<ServerMessage>((resolve, reject) => {
      const request: CallRequest = {
        kind,
        id: this.newId(),
        fields,
        resolve,
        reject,
        timer: undefined,
        link: undefined,
      };
      request.timer = startTimer(() => {
        this.#pending.delete(request.id);
        this.#queue = this.#queue.filter((queued) => queued !== request);
        reject(
          new SwitchboardError('timeout', `no reply to ${kind} within ${this.#timeoutMs} ms`, {
            requestId: request.id,
          }),
        );
      }, this.#timeoutMs);
      if (isLive(link)) this.#sendCall(link, request);
      else this.#queue.push(request);
    });
  }

  /** Sends the queued calls on a link that just became the current one. */
  flush(link: Link): void {
    for (const request of this.#queue.splice(0)) this.#sendCall(link, request);
  }

  /** A link ended: what was in flight on it is settled, or queued again to be re-sent. */
  linkEnded(link: Link): void {
    for (const request of [...this.#pending.values()]) {
      if (request.link !== link) continue;
      this.#pending.delete(request.id);
      if (request.kind === 'subscribe') {
        // Not lost: the entry is resubscribed on the next connection.
        clearTimeout(request.timer);
      } else if (request.kind === 'unsubscribe') {
        // No connection, no subscription.
        clearTimeout(request.timer);
        request.resolve();
      } else if (request.kind === 'publish') {
        clearTimeout(request.timer);
        request.reject(
          new SwitchboardError(
            'connection_lost',
            'the connection ended before the server confirmed the publish: it may or may not have been published',
            { requestId: request.id },
          ),
        );
      } else {
        request.link = undefined;
        this.#queue.push(request);
      }
    }
  }

  /** The client closed: every queued call fails with `reason`. */
  rejectQueued(reason: SwitchboardError): void {
    for (const request of this.#queue.splice(0)) {
      clearTimeout(request.timer);
      request.reject(reason);
    }
  }

  #sendCall(link: Link, request: CallRequest): void {
    request.link = link;
    this.#pending.set(request.id, request);
    sendFrame(link, { action: request.kind, id: request.id, ...request.fields });
  }
}

function channelOf(request: PendingRequest): string | undefined {
  if (request.kind === 'subscribe') return request.entry.channel;
  if (request.kind === 'unsubscribe') return request.channel;
  return undefined;
}
