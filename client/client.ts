/**
 * The Switchboard client: the facade behind `createClient`. It wires the collaborators together and
 * routes each server frame to what it answers:
 *
 * - `connection.ts`: the state machine over successive links (`link.ts`, one WebSocket and its
 *   heartbeat), with reconnection (`reconnect.ts`) and the make-before-break handover (`handover.ts`);
 * - `requests.ts`: correlation ids, requests awaiting replies, calls waiting for a connection;
 * - `channels.ts`: subscriptions and their resubscription; `ordering.ts`: delivery in `seq` order,
 *   once each, with recovery of what was missed.
 */
import type {
  ConnectedMessage,
  PresenceMessage,
  PublishedMessage,
  RefreshedMessage,
  ServerMessage,
} from '../core/protocol.js';
import { sequenceNumber } from './channel-sequence.js';
import { Channels, subscription } from './channels.js';
import { Connection } from './connection.js';
import { Emitter, type Unlisten } from './emitter.js';
import { closedError, SwitchboardError } from './errors.js';
import type { Link } from './link.js';
import { type ClientOptions, resolveOptions, type Settings } from './options.js';
import { TokenSource } from './reconnect.js';
import { type CallRequest, Requests } from './requests.js';
import type {
  Client,
  ClientEvents,
  ClientState,
  EventHandler,
  EventHandlerMap,
  PresenceSnapshot,
  Published,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  WhoAmI,
} from './types.js';

/**
 * Creates a client and starts connecting at once. Throws `ClientOptionsError` for invalid options.
 */
export function createClient(options: ClientOptions): Client {
  return new SwitchboardClient(resolveOptions(options));
}

class SwitchboardClient implements Client {
  readonly #events = new Emitter<ClientEvents>();
  readonly #tokens: TokenSource;
  readonly #requests: Requests;
  readonly #connection: Connection;
  readonly #channels: Channels;

  constructor(settings: Settings) {
    this.#tokens = new TokenSource(settings.token);
    this.#requests = new Requests(settings.requestTimeoutMs);
    this.#connection = new Connection(settings, this.#events, this.#tokens, {
      resubscribe: (link) => this.#channels.resubscribe(link),
      flushCalls: (link) => this.#requests.flush(link),
      linkEnded: (link) => this.#requests.linkEnded(link),
      disconnected: () => this.#channels.disconnected(),
      message: (link, message) => this.#onMessage(link, message),
      closed: (reason) => {
        this.#channels.close(reason);
        this.#requests.rejectQueued(reason);
      },
    });
    this.#channels = new Channels(settings, this.#events, this.#requests, this.#connection);
  }

  get state(): ClientState {
    return this.#connection.state;
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): Unlisten {
    return this.#events.on(event, listener);
  }

  subscribe(
    channel: string,
    handler: EventHandler | EventHandlerMap,
    options: SubscribeOptions = {},
  ): Subscription {
    if (this.#connection.state === 'closed') {
      return subscription(channel, Promise.reject(closedError(channel)), () => Promise.resolve());
    }
    const { since } = options;
    if (since !== undefined && sequenceNumber(since) === undefined) {
      const error = new SwitchboardError(
        'invalid_request',
        `since must be a non-negative integer (a seq), got ${String(since)}`,
        { channel },
      );
      return subscription(channel, Promise.reject(error), () => Promise.resolve());
    }
    return this.#channels.subscribe(channel, handler, options);
  }

  presence(channel: string): Promise<PresenceSnapshot> {
    if (typeof channel !== 'string' || channel === '') {
      return Promise.reject(new TypeError('presence(channel) needs a non-empty channel name'));
    }
    return this.#call('presence', { channel }).then((reply) => {
      const { members, count, truncated } = reply as PresenceMessage;
      return { channel, members, count, truncated: truncated === true };
    });
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
    if (replacesToken && this.#connection.state !== 'open') this.#tokens.replace(token);
    return this.#call('refresh', { token }).then((reply) => {
      if (replacesToken && this.#connection.state !== 'closed') this.#tokens.replace(token);
      return { expiresAt: (reply as RefreshedMessage).expiresAt };
    });
  }

  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<Published> {
    if (typeof channel !== 'string' || channel === '') {
      return Promise.reject(new TypeError('publish(channel, data) needs a non-empty channel name'));
    }
    if (data === undefined) return Promise.reject(new TypeError('publish(channel, data) needs data'));
    const fields: Record<string, unknown> = { channel, data };
    if (options.eventType !== undefined) fields.event_type = options.eventType;
    return this.#call('publish', fields).then((reply) => {
      const published = reply as PublishedMessage;
      return { channel: published.channel, eventId: published.event_id };
    });
  }

  close(): void {
    this.#connection.close();
  }

  #call(kind: CallRequest['kind'], fields: Readonly<Record<string, unknown>>): Promise<ServerMessage> {
    if (this.#connection.state === 'closed') return Promise.reject(closedError());
    return this.#requests.call(kind, fields, this.#connection.current());
  }

  /** Hands a server frame to what it concerns. */
  #onMessage(link: Link, message: ServerMessage): void {
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
      case 'refreshed':
      case 'presence':
      case 'published': {
        const kind = {
          connected: 'whoami',
          refreshed: 'refresh',
          presence: 'presence',
          published: 'publish',
        } as const;
        const request = this.#requests.take(link, message.id, kind[message.type]);
        if (request?.kind === kind[message.type]) request.resolve(message);
        break;
      }
      case 'presence_join':
      case 'presence_leave':
        this.#events.emit(message.type, message);
        break;
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
