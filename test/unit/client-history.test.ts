/**
 * Ordering and recovery in the client SDK (`seq`, `since`, `recovered`), against an in-memory
 * WebSocket and a scripted server, under fake timers: each test decides exactly which frame arrives
 * when, and time (the gap timeout, the reconnection delay, a handover) passes only when it says so.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ChannelGap,
  type Client,
  type ClientOptions,
  createClient,
  type EventMessage,
  type SwitchboardError,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../../client/index.js';

type Json = Record<string, unknown>;

const stamp = '2026-11-21T12:00:00.000Z';

class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  /** Every frame the client sent, parsed. */
  readonly sent: Json[] = [];

  constructor(private readonly server: FakeServer) {
    server.sockets.push(this);
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    const message = JSON.parse(data) as Json;
    this.sent.push(message);
    const replies = this.server.respond(message, this);
    // Replies travel like frames do: later, never inside the client's own send().
    queueMicrotask(() => this.receive(...replies));
  }

  /** Frames from the server, in this order. */
  receive(...messages: Json[]): void {
    for (const message of messages) {
      if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(message) });
    }
  }

  /** The connection drops without a closing handshake. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }

  close(): void {
    this.readyState = 3;
  }

  /** The subscribe frames sent so far. */
  get subscribes(): Json[] {
    return this.sent.filter((message) => message.action === 'subscribe');
  }
}

function event(channel: string, id: string, seq?: number): Json {
  return { type: 'event', id, channel, event_type: 'created', data: {}, timestamp: stamp, seq };
}

/**
 * A Switchboard with history: it retains what `publish` stores and, for a subscribe with `since`,
 * replays the retained events after it before answering `subscribed` with the channel's sequence.
 */
class FakeServer {
  readonly sockets: FakeSocket[] = [];
  /** The current sequence of each channel. */
  readonly current = new Map<string, number>();
  /** The retained events of each channel. */
  readonly retained = new Map<string, Json[]>();
  /** A `since` below this is older than the retention window: `recovered: false`. */
  oldestRecoverable = 0;
  /** The most events one reply replays; past it the reply carries `next` (a budget ran out). */
  replayBudget = Number.POSITIVE_INFINITY;
  respond: (message: Json, socket: FakeSocket) => Json[] = (message) => this.answer(message);

  readonly WebSocket: WebSocketConstructor = (() => {
    const server = this;
    return class extends FakeSocket {
      constructor() {
        super(server);
      }
    };
  })();

  /** Numbers and retains an event, and returns its frame (which no connection has received yet). */
  publish(channel: string, id: string): Json {
    const seq = (this.current.get(channel) ?? 0) + 1;
    this.current.set(channel, seq);
    const frame = event(channel, id, seq);
    this.retained.set(channel, [...(this.retained.get(channel) ?? []), frame]);
    return frame;
  }

  /** What a healthy server answers. */
  answer(message: Json): Json[] {
    const channel = String(message.channel);
    const id = message.id === undefined ? {} : { id: message.id };
    switch (message.action) {
      case 'subscribe': {
        // A wildcard pattern has no sequence and refuses `since` (PROTOCOL §8).
        if (channel.endsWith('*')) {
          return typeof message.since === 'number'
            ? [{ type: 'error', code: 'invalid_request', message: 'since with a pattern', channel, ...id }]
            : [{ type: 'subscribed', channel, ...id, timestamp: stamp }];
        }
        const seq = this.current.get(channel) ?? 0;
        const subscribed = { type: 'subscribed', channel, ...id, seq, timestamp: stamp };
        if (typeof message.since !== 'number') return [subscribed];
        const since = message.since;
        const after = (this.retained.get(channel) ?? []).filter((frame) => Number(frame.seq) > since);
        const replay = after.slice(0, this.replayBudget);
        const next = replay.length < after.length ? { next: replay.at(-1)?.seq } : {};
        return [...replay, { ...subscribed, recovered: since >= this.oldestRecoverable, ...next }];
      }
      case 'unsubscribe':
        return [{ type: 'unsubscribed', channel, ...id, timestamp: stamp }];
      default:
        return [{ type: 'pong', ...id, timestamp: stamp }];
    }
  }

  socket(index: number): FakeSocket {
    const socket = this.sockets[index];
    if (socket === undefined) throw new Error(`no connection #${index}`);
    return socket;
  }
}

const clients: Client[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  vi.useRealTimers();
});

/**
 * Lets whatever is due run: zero-delay timers, then every chain of microtasks (the fake sockets open
 * and reply on microtasks; `setImmediate` is a real macrotask, so it waits for all of them).
 */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
  await new Promise((resolve) => setImmediate(resolve));
}

interface Setup {
  readonly server: FakeServer;
  readonly client: Client;
  /** What the application saw, in order: `id@seq` per event, `gap:reason:lastSeq-seq` per gap. */
  readonly log: string[];
  readonly gaps: ChannelGap[];
  readonly errors: SwitchboardError[];
}

/** A client subscribed to `news` over a fresh fake server, once the subscription is confirmed. */
async function subscribed(options: Partial<ClientOptions> = {}, server = new FakeServer()): Promise<Setup> {
  const client = createClient({
    url: 'wss://switchboard.test/ws',
    token: 'jwt',
    WebSocket: server.WebSocket,
    reconnect: { baseDelayMs: 10, maxDelayMs: 10 },
    ...options,
  });
  clients.push(client);
  const log: string[] = [];
  const gaps: ChannelGap[] = [];
  const errors: SwitchboardError[] = [];
  client.on('gap', (gap) => gaps.push(gap));
  client.on('error', (error) => errors.push(error));
  const subscription = client.subscribe('news', (received: EventMessage) => log.push(seen(received)), {
    onGap: ({ reason, lastSeq, seq }) => log.push(`gap:${reason}:${lastSeq}-${seq}`),
  });
  await flush();
  await subscription;
  return { server, client, log, gaps, errors };
}

const seen = (received: EventMessage) => `${received.id}@${received.seq ?? '-'}`;

describe('delivering in seq order', () => {
  it('delivers events that arrive in order at once', async () => {
    // Prepare
    const { server, log } = await subscribed();

    // Act
    server
      .socket(0)
      .receive(server.publish('news', 'a'), server.publish('news', 'b'), server.publish('news', 'c'));

    // Assess
    expect(log).toEqual(['a@1', 'b@2', 'c@3']);
  });

  it('reorders events that arrive out of order, without asking the server', async () => {
    // Prepare
    const { server, log } = await subscribed();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => server.publish('news', id)) as [Json, Json, Json];
    const socket = server.socket(0);

    // Act
    socket.receive(b, c);
    const beforeTheFirst = [...log];
    socket.receive(a);
    await vi.advanceTimersByTimeAsync(5000);

    // Assess
    expect(beforeTheFirst).toEqual([]);
    expect(log).toEqual(['a@1', 'b@2', 'c@3']);
    expect(socket.subscribes).toHaveLength(1);
  });

  it('drops a duplicate by id, also when a retry redelivered it under a new seq', async () => {
    // Prepare
    const { server, log } = await subscribed();
    const socket = server.socket(0);
    const a = server.publish('news', 'a');
    server.publish('news', 'a'); // the retry's copy, numbered 2

    // Act
    socket.receive(a, event('news', 'a', 2), server.publish('news', 'b'));
    await vi.advanceTimersByTimeAsync(5000);

    // Assess: number 2 is taken by the copy, so b (3) follows on and nothing waits.
    expect(log).toEqual(['a@1', 'b@3']);
    expect(socket.subscribes).toHaveLength(1);
  });

  it('drops an event whose seq is at or below the last one delivered', async () => {
    // Prepare
    const { server, log } = await subscribed();
    const socket = server.socket(0);
    socket.receive(server.publish('news', 'a'), server.publish('news', 'b'));

    // Act
    socket.receive(event('news', 'late', 2), event('news', 'older', 1), server.publish('news', 'c'));

    // Assess
    expect(log).toEqual(['a@1', 'b@2', 'c@3']);
  });

  it('delivers events without seq (a server without history) at once, dropping duplicates by id', async () => {
    // Prepare
    const server = new FakeServer();
    server.respond = (message) =>
      server.answer(message).map(({ seq: _none, recovered: _either, ...older }) => older);
    const { log } = await subscribed({}, server);

    // Act
    server.socket(0).receive(event('news', 'x'), event('news', 'y'), event('news', 'x'), event('news', 'z'));

    // Assess
    expect(log).toEqual(['x@-', 'y@-', 'z@-']);
  });

  it('holds events that overtake the first subscribed reply, then delivers them in seq order', async () => {
    // Prepare: two events published while the subscription is processed reach the client first.
    const server = new FakeServer();
    server.current.set('news', 5);
    server.respond = (message) => [event('news', 'g', 7), event('news', 'f', 6), ...server.answer(message)];

    // Act
    const { log } = await subscribed({}, server);

    // Assess: the reply says 5, so 6 and 7 are the next ones.
    expect(log).toEqual(['f@6', 'g@7']);
  });
});

describe('filling a gap', () => {
  it('waits for a missing seq that arrives within gapTimeoutMs', async () => {
    // Prepare
    const { server, log } = await subscribed({ gapTimeoutMs: 1000 });
    const [a, b, c] = ['a', 'b', 'c'].map((id) => server.publish('news', id)) as [Json, Json, Json];
    const socket = server.socket(0);

    // Act
    socket.receive(a, c);
    await vi.advanceTimersByTimeAsync(999);
    const whileWaiting = [...log];
    socket.receive(b);
    await vi.advanceTimersByTimeAsync(5000);

    // Assess
    expect(whileWaiting).toEqual(['a@1']);
    expect(log).toEqual(['a@1', 'b@2', 'c@3']);
    expect(socket.subscribes).toHaveLength(1);
  });

  it('asks for a seq still missing after gapTimeoutMs with a subscribe since the last one, and delivers the replay', async () => {
    // Prepare
    const { server, log, gaps } = await subscribed({ gapTimeoutMs: 1000 });
    const [a, , c] = ['a', 'b', 'c'].map((id) => server.publish('news', id)) as [Json, Json, Json];
    const socket = server.socket(0);
    socket.receive(a, c);

    // Act
    await vi.advanceTimersByTimeAsync(1000);
    await flush();

    // Assess: the replay (b, and c again) precedes the reply; c is delivered once.
    expect(socket.subscribes[1]).toEqual({
      action: 'subscribe',
      channel: 'news',
      id: expect.any(String),
      since: 1,
    });
    expect(log).toEqual(['a@1', 'b@2', 'c@3']);
    expect(gaps).toEqual([]);
  });

  it('steps over a seq that the reply to its request shows never existed, and goes on', async () => {
    // Prepare: number 2 was allocated, but its event was never stored.
    const { server, log, gaps } = await subscribed({ gapTimeoutMs: 1000 });
    const a = server.publish('news', 'a');
    server.current.set('news', 2);
    const c = server.publish('news', 'c');
    const socket = server.socket(0);

    // Act
    socket.receive(a, c);
    await vi.advanceTimersByTimeAsync(999);
    const whileWaiting = [...log];
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    socket.receive(server.publish('news', 'd'));

    // Assess
    expect(whileWaiting).toEqual(['a@1']);
    expect(log).toEqual(['a@1', 'c@3', 'd@4']);
    expect(gaps).toEqual([]);
    expect(socket.subscribes).toHaveLength(2);
  });

  it('steps over the missing seq and reports an unconfirmed gap when the server refuses the request', async () => {
    // Prepare
    const server = new FakeServer();
    server.respond = (message) =>
      message.since === undefined
        ? server.answer(message)
        : [{ type: 'error', code: 'rate_limited', message: 'slow down', id: message.id, timestamp: stamp }];
    const { log, gaps, errors } = await subscribed({ gapTimeoutMs: 1000 }, server);
    const socket = server.socket(0);
    socket.receive(server.publish('news', 'a'));
    server.publish('news', 'b');
    socket.receive(server.publish('news', 'c'));

    // Act
    await vi.advanceTimersByTimeAsync(1000);
    await flush();
    socket.receive(server.publish('news', 'd'));

    // Assess: the gap is reported before what follows it, and the channel stays subscribed.
    expect(log).toEqual(['a@1', 'gap:unconfirmed:1-2', 'c@3', 'd@4']);
    expect(gaps).toEqual([{ channel: 'news', reason: 'unconfirmed', lastSeq: 1, seq: 2 }]);
    expect(errors).toMatchObject([{ code: 'rate_limited' }]);
    expect(socket.sent.filter((message) => message.action === 'unsubscribe')).toEqual([]);
  });
});

describe('when the request for a missing seq fails', () => {
  it('steps over it with an unconfirmed gap when the request goes unanswered', async () => {
    // Prepare
    const server = new FakeServer();
    server.respond = (message) => (message.since === undefined ? server.answer(message) : []);
    const { log } = await subscribed({ gapTimeoutMs: 1000, requestTimeoutMs: 500 }, server);
    const socket = server.socket(0);
    socket.receive(server.publish('news', 'a'));
    server.publish('news', 'b');
    socket.receive(server.publish('news', 'c'));

    // Act
    await vi.advanceTimersByTimeAsync(1499);
    const whileAsking = [...log];
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(whileAsking).toEqual(['a@1']);
    expect(log).toEqual(['a@1', 'gap:unconfirmed:1-2', 'c@3']);
  });

  it('stops calling onGap once its subscription is unsubscribed, while the gap event goes on', async () => {
    // Prepare
    const server = new FakeServer();
    server.respond = (message) => (message.since === undefined ? server.answer(message) : []);
    const { client, log, gaps } = await subscribed({ gapTimeoutMs: 10, requestTimeoutMs: 10 }, server);
    const other: ChannelGap[] = [];
    const second = client.subscribe('news', () => {}, { onGap: (gap) => other.push(gap) });
    await second.unsubscribe();
    const socket = server.socket(0);
    socket.receive(server.publish('news', 'a'));
    server.publish('news', 'b');

    // Act
    socket.receive(server.publish('news', 'c'));
    await vi.advanceTimersByTimeAsync(20);

    // Assess
    expect(log).toEqual(['a@1', 'gap:unconfirmed:1-2', 'c@3']);
    expect(gaps).toHaveLength(1);
    expect(other).toEqual([]);
  });
});

describe('resuming after a reconnection', () => {
  it('resubscribes with since the last seq delivered, and delivers the replay once', async () => {
    // Prepare
    const { server, log } = await subscribed();
    const first = server.socket(0);
    first.receive(server.publish('news', 'a'), server.publish('news', 'b'));
    server.publish('news', 'c');
    server.publish('news', 'd');

    // Act
    first.drop();
    await vi.advanceTimersByTimeAsync(50);

    // Assess
    expect(server.socket(1).sent).toEqual([
      { action: 'subscribe', channel: 'news', id: expect.any(String), since: 2 },
    ]);
    expect(log).toEqual(['a@1', 'b@2', 'c@3', 'd@4']);
  });

  it('resumes from the first subscribed seq when no event was received yet', async () => {
    // Prepare
    const server = new FakeServer();
    server.current.set('news', 41);
    const { log } = await subscribed({}, server);
    server.publish('news', 'missed');

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);

    // Assess
    expect(server.socket(1).subscribes).toEqual([
      { action: 'subscribe', channel: 'news', id: expect.any(String), since: 41 },
    ]);
    expect(log).toEqual(['missed@42']);
  });

  it('resubscribes a handover connection with since, and delivers the overlap once', async () => {
    // Prepare
    const { server, log } = await subscribed({ maxConnectionAgeMs: 60_000 });
    const old = server.socket(0);
    old.receive(server.publish('news', 'a'));
    const b = server.publish('news', 'b');
    server.respond = (message, socket) => {
      // b reaches the old connection live while the new one replays it.
      if (socket !== old) queueMicrotask(() => old.receive(b));
      return server.answer(message);
    };

    // Act
    await vi.advanceTimersByTimeAsync(60_000);
    await flush();

    // Assess
    expect(server.socket(1).subscribes).toEqual([
      { action: 'subscribe', channel: 'news', id: expect.any(String), since: 1 },
    ]);
    expect(old.readyState).toBe(3);
    expect(log).toEqual(['a@1', 'b@2']);
  });

  it('does not mistake live events that overtake the reply for a reset', async () => {
    // Prepare: the reply was computed at 3, but 4 and 5 were published meanwhile and overtake it.
    const { server, log, gaps } = await subscribed();
    server.socket(0).receive(server.publish('news', 'a'));
    server.publish('news', 'b');
    server.publish('news', 'c');
    server.respond = (message) => {
      const replies = server.answer(message);
      return [
        ...replies.slice(0, -1),
        server.publish('news', 'd'),
        server.publish('news', 'e'),
        ...replies.slice(-1),
      ];
    };

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    server.socket(1).receive(server.publish('news', 'f'));

    // Assess
    expect(log).toEqual(['a@1', 'b@2', 'c@3', 'd@4', 'e@5', 'f@6']);
    expect(gaps).toEqual([]);
  });

  it('reports recovered: false as a not_retained gap, to the client and to onGap, before what follows', async () => {
    // Prepare
    const { server, log, gaps } = await subscribed();
    server.socket(0).receive(server.publish('news', 'a'));
    for (const id of ['b', 'c', 'd']) server.publish('news', id);
    server.retained.set('news', []);
    server.oldestRecoverable = 4;

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    server.socket(1).receive(server.publish('news', 'e'));

    // Assess
    expect(gaps).toEqual([{ channel: 'news', reason: 'not_retained', lastSeq: 1, seq: 4 }]);
    expect(log).toEqual(['a@1', 'gap:not_retained:1-4', 'e@5']);
  });

  it('starts counting over, with a reset gap, when the server sequence went backwards', async () => {
    // Prepare
    const { server, log, gaps } = await subscribed();
    for (const id of ['a', 'b', 'c']) server.socket(0).receive(server.publish('news', id));

    // Act: the server restarts with an empty table.
    server.current.clear();
    server.retained.clear();
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    server.socket(1).receive(server.publish('news', 'fresh'));

    // Assess
    expect(gaps).toEqual([{ channel: 'news', reason: 'reset', lastSeq: 3, seq: 0 }]);
    expect(log).toEqual(['a@1', 'b@2', 'c@3', 'gap:reset:3-0', 'fresh@1']);
  });
});

describe('following next when the server replays in parts', () => {
  /** The `since` of each subscribe sent on connection `index`. */
  const sinces = (server: FakeServer, index: number) =>
    server.socket(index).subscribes.map((message) => message.since);
  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  /** A client that delivered a (1) while b to e (2 to 5) were published; replies replay two each. */
  async function fourBehind(options: Partial<ClientOptions> = {}): Promise<Setup> {
    const setup = await subscribed(options);
    const { server } = setup;
    server.replayBudget = 2;
    server.socket(0).receive(server.publish('news', 'a'));
    for (const id of ['b', 'c', 'd', 'e']) server.publish('news', id);
    return setup;
  }

  it('subscribes again with since: next until a reply without next, delivering every event once, in order, without a gap', async () => {
    // Prepare: a client that saw event 1, then was away while 249 more were published.
    const { server, log, gaps } = await subscribed();
    server.replayBudget = 100;
    server.socket(0).receive(server.publish('news', 'e1'));
    for (const n of ids(2, 250)) server.publish('news', `e${n}`);

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    await flush();
    server.socket(1).receive(server.publish('news', 'e251'));

    // Assess
    expect(sinces(server, 1)).toEqual([1, 101, 201]);
    expect(log).toEqual(ids(1, 251).map((n) => `e${n}@${n}`));
    expect(gaps).toEqual([]);
  });

  it('holds live events that overtake a part of the replay until the replay reaches them, and stops once they follow on', async () => {
    // Prepare: while the first part is replayed, two events are published and arrive live.
    const { server, log, gaps } = await fourBehind();
    let overtaken = false;
    server.respond = (message) => {
      const replies = server.answer(message);
      if (message.since === undefined || overtaken) return replies;
      overtaken = true;
      const live = [server.publish('news', 'f'), server.publish('news', 'g')];
      return [...replies.slice(0, -1), ...live, ...replies.slice(-1)];
    };

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    await flush();

    // Assess: the reply to since 1 said seq 5 and next 3; f and g waited for 4 and 5, then followed
    // on up to the second reply's seq (7), so nothing was left to ask for.
    expect(sinces(server, 1)).toEqual([1, 3]);
    expect(log).toEqual(['a@1', 'b@2', 'c@3', 'd@4', 'e@5', 'f@6', 'g@7']);
    expect(gaps).toEqual([]);
  });

  it('reports recovered: false once, as a gap that ends before the first event retained', async () => {
    // Prepare: events 2..50 are no longer retained.
    const { server, log, gaps } = await subscribed();
    server.replayBudget = 100;
    server.socket(0).receive(server.publish('news', 'e1'));
    for (const n of ids(2, 250)) server.publish('news', `e${n}`);
    server.retained.set('news', (server.retained.get('news') ?? []).slice(50));
    server.oldestRecoverable = 50;

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    await flush();

    // Assess
    expect(sinces(server, 1)).toEqual([1, 150]);
    expect(gaps).toEqual([{ channel: 'news', reason: 'not_retained', lastSeq: 1, seq: 50 }]);
    expect(log).toEqual(['e1@1', 'gap:not_retained:1-50', ...ids(51, 250).map((n) => `e${n}@${n}`)]);
  });

  it('follows next on a request for a missing seq too', async () => {
    // Prepare: the client holds 6 while 2 to 5 are missing.
    const { server, log, gaps } = await fourBehind({ gapTimeoutMs: 1000 });
    server.socket(0).receive(server.publish('news', 'f'));

    // Act
    await vi.advanceTimersByTimeAsync(1000);
    await flush();

    // Assess: once 4 and 5 are replayed, the held 6 follows on and nothing is left to ask for.
    expect(sinces(server, 0)).toEqual([undefined, 1, 3]);
    expect(log).toEqual(['a@1', 'b@2', 'c@3', 'd@4', 'e@5', 'f@6']);
    expect(gaps).toEqual([]);
  });

  it('retries a part refused as rate_limited from where the replay stopped, without a gap', async () => {
    // Prepare: the server refuses the first continuation once.
    const { server, log, gaps } = await fourBehind();
    let refused = false;
    server.respond = (message) => {
      if (message.since !== 3 || refused) return server.answer(message);
      refused = true;
      return [
        { type: 'error', code: 'rate_limited', message: 'slow down', id: message.id, timestamp: stamp },
      ];
    };

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    await flush();

    // Assess
    expect(sinces(server, 1)).toEqual([1, 3, 3]);
    expect(log).toEqual(['a@1', 'b@2', 'c@3', 'd@4', 'e@5']);
    expect(gaps).toEqual([]);
  });

  it('does not follow a next that does not move forward from since', async () => {
    // Prepare: a faulty server answers next: since.
    const { server, log } = await subscribed();
    server.socket(0).receive(server.publish('news', 'a'));
    server.publish('news', 'b');
    server.respond = (message) =>
      server
        .answer(message)
        .map((reply) => (reply.type === 'subscribed' ? { ...reply, next: message.since } : reply));

    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    await flush();

    // Assess
    expect(sinces(server, 1)).toEqual([1]);
    expect(log).toEqual(['a@1', 'b@2']);
  });
});

describe('the gapTimeoutMs option', () => {
  it('refuses a negative or infinite timeout, naming it', () => {
    // Prepare
    const { WebSocket } = new FakeServer();
    const url = 'wss://switchboard.test/ws';

    // Act, Assess
    expect(() => createClient({ url, WebSocket, gapTimeoutMs: -1 })).toThrow(/gapTimeoutMs .*received -1/);
    expect(() => createClient({ url, WebSocket, gapTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(
      /gapTimeoutMs/,
    );
  });
});

describe('a wildcard subscription', () => {
  /** A client subscribed to `apps:*` (and to `extra`, when given), once confirmed. */
  async function patternSetup(extra?: string) {
    const server = new FakeServer();
    const client = createClient({
      url: 'wss://switchboard.test/ws',
      token: 'jwt',
      WebSocket: server.WebSocket,
      reconnect: { baseDelayMs: 10, maxDelayMs: 10 },
      gapTimeoutMs: 1000,
    });
    clients.push(client);
    const log: string[] = [];
    const exact: string[] = [];
    const gaps: ChannelGap[] = [];
    client.on('gap', (gap) => gaps.push(gap));
    const subscription = client.subscribe('apps:*', (e: EventMessage) => log.push(`${e.channel}:${seen(e)}`));
    if (extra !== undefined)
      client.subscribe(extra, (e: EventMessage) => exact.push(`${e.channel}:${seen(e)}`));
    await flush();
    await subscription;
    return { server, client, log, exact, gaps, subscription };
  }

  it('routes the events of every matching channel to the handler, under their concrete names', async () => {
    // Prepare
    const { server, log } = await patternSetup();
    // Act
    server
      .socket(0)
      .receive(
        server.publish('apps:created', 'a'),
        server.publish('apps:eu.deleted', 'b'),
        server.publish('news:apps', 'c'),
        server.publish('apps', 'd'),
      );
    // Assess
    expect(server.socket(0).subscribes).toEqual([
      { action: 'subscribe', channel: 'apps:*', id: expect.any(String) },
    ]);
    expect(log).toEqual(['apps:created:a@1', 'apps:eu.deleted:b@1']);
  });

  it('keeps seq order and drops duplicates per concrete channel', async () => {
    // Prepare
    const { server, log } = await patternSetup();
    const [a1, a2, a3] = ['a1', 'a2', 'a3'].map((id) => server.publish('apps:a', id)) as [Json, Json, Json];
    const b1 = server.publish('apps:b', 'b1');
    // Act: apps:a's 3 overtakes its 2; apps:b is not held back by apps:a; a1 comes twice.
    server.socket(0).receive(a1, a3, b1, a1, a2);
    // Assess
    expect(log).toEqual(['apps:a:a1@1', 'apps:b:b1@1', 'apps:a:a2@2', 'apps:a:a3@3']);
  });

  it('steps over a missing seq after gapTimeoutMs with an unconfirmed gap, without sending since', async () => {
    // Prepare
    const { server, log, gaps } = await patternSetup();
    const [a1, , a3] = ['a1', 'a2', 'a3'].map((id) => server.publish('apps:a', id)) as [Json, Json, Json];
    // Act
    server.socket(0).receive(a1, a3);
    const whileWaiting = [...log];
    await vi.advanceTimersByTimeAsync(1500);
    // Assess
    expect(whileWaiting).toEqual(['apps:a:a1@1']);
    expect(log).toEqual(['apps:a:a1@1', 'apps:a:a3@3']);
    expect(gaps).toEqual([{ channel: 'apps:a', reason: 'unconfirmed', lastSeq: 1, seq: 2 }]);
    expect(server.socket(0).subscribes).toHaveLength(1);
  });

  it('resubscribes after a reconnection without since, and goes on with live events', async () => {
    // Prepare
    const { server, log } = await patternSetup();
    server.socket(0).receive(server.publish('apps:a', 'a1'));
    // Act
    server.socket(0).drop();
    await vi.advanceTimersByTimeAsync(50);
    await flush();
    server.socket(1).receive(server.publish('apps:a', 'a2'));
    // Assess
    expect(server.socket(1).subscribes).toEqual([
      { action: 'subscribe', channel: 'apps:*', id: expect.any(String) },
    ]);
    expect(log).toEqual(['apps:a:a1@1', 'apps:a:a2@2']);
  });

  it('gives an event of a channel also subscribed exactly to both subscriptions, once each', async () => {
    // Prepare
    const { server, log, exact } = await patternSetup('apps:a');
    // Act
    server.socket(0).receive(server.publish('apps:a', 'a1'));
    // Assess
    expect(log).toEqual(['apps:a:a1@1']);
    expect(exact).toEqual(['apps:a:a1@1']);
    expect(server.socket(0).subscribes.map((m) => m.since)).toEqual([undefined, undefined]);
  });

  it('stops once unsubscribed', async () => {
    // Prepare
    const { server, log, subscription } = await patternSetup();
    // Act
    const done = subscription.unsubscribe();
    await flush();
    await done;
    server.socket(0).receive(server.publish('apps:a', 'late'));
    // Assess
    expect(server.socket(0).sent.at(-1)).toMatchObject({ action: 'unsubscribe', channel: 'apps:*' });
    expect(log).toEqual([]);
  });
});
