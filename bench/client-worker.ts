/**
 * A client worker: a child process of the bench holding real `ws` clients of the local stack.
 * Every received `event` is stamped first thing on the shared monotonic clock (`hrNow`), then
 * counted by its bench tag (`data.tag`), recorded in full for a tracked tag (the burst stage), or,
 * during the soak, recorded per client. The protocol is
 * in `worker-protocol.ts`. It exits when the bench goes away (IPC disconnect) or on SIGTERM,
 * closing its sockets.
 */
import WebSocket from 'ws';
import { judgeSoak } from './soak-judge.js';
import { hrNow } from './stats.js';
import type {
  AwaitResult,
  ClientRequest,
  ClientSpec,
  Counts,
  OpenResult,
  PublishedReply,
  RefusedReply,
  RequestResult,
  SoakClient,
  SoakEvaluation,
  SoakEvent,
  TrackedReceipts,
  WorkerReply,
  WorkerRequestWithId,
} from './worker-protocol.js';

const OPEN_ATTEMPTS = 3;
const HANDSHAKE_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 60_000;

interface PendingReply {
  readonly expect: string;
  readonly tolerate: readonly string[];
  readonly resolve: (reply: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Client {
  readonly key: string;
  readonly socket: WebSocket;
  readonly pending: Map<string, PendingReply>;
  closedByBench: boolean;
  closed: Promise<void>;
  /** Soak receipts, as parallel arrays (cheaper than objects at 100k+ entries). */
  readonly soakIds: string[];
  readonly soakChannels: string[];
  readonly soakTimes: number[];
}

const clients = new Map<string, Client>();
const tagTimes = new Map<string, number[]>();
const tagWaiters = new Map<string, { expected: number; wake: () => void }>();
/** Receipts of tracked tags, as parallel arrays, and when the latest arrived. */
const tracked = new Map<
  string,
  { keys: string[]; ids: string[]; channels: string[]; seqs: number[]; times: number[]; lastAt: number }
>();
const unexpectedCloses: { key: string; code: number; reason: string }[] = [];
let events = 0;
let untagged = 0;
let soakMode = false;

function onMessage(client: Client, data: WebSocket.RawData): void {
  const receivedAt = hrNow();
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(data.toString()) as Record<string, unknown>;
  } catch {
    untagged += 1;
    return;
  }
  if (message.type === 'event') {
    events += 1;
    if (soakMode) {
      client.soakIds.push(String(message.id));
      client.soakChannels.push(String(message.channel));
      client.soakTimes.push(receivedAt);
      return;
    }
    const tag = (message.data as { tag?: unknown } | null)?.tag;
    if (typeof tag !== 'string') {
      untagged += 1;
      return;
    }
    const receipts = tracked.get(tag);
    if (receipts) {
      receipts.keys.push(client.key);
      receipts.ids.push(String(message.id));
      receipts.channels.push(String(message.channel));
      receipts.seqs.push(typeof message.seq === 'number' ? message.seq : Number.NaN);
      receipts.times.push(receivedAt);
      receipts.lastAt = receivedAt;
      return;
    }
    let times = tagTimes.get(tag);
    if (!times) {
      times = [];
      tagTimes.set(tag, times);
    }
    times.push(receivedAt);
    const waiter = tagWaiters.get(tag);
    if (waiter && times.length >= waiter.expected) waiter.wake();
    return;
  }
  const id = message.id;
  const pending = typeof id === 'string' ? client.pending.get(id) : undefined;
  if (!pending || typeof id !== 'string') return;
  client.pending.delete(id);
  clearTimeout(pending.timer);
  if (
    message.type === pending.expect ||
    (message.type === 'error' && pending.tolerate.includes(String(message.code)))
  ) {
    pending.resolve({ ...message, repliedAt: receivedAt });
  } else
    pending.reject(new Error(`${client.key}: expected "${pending.expect}", got ${JSON.stringify(message)}`));
}

function connectOnce(url: string, spec: ClientSpec): Promise<Client> {
  const socket = new WebSocket(`${url}?token=${encodeURIComponent(spec.token)}`, {
    perMessageDeflate: false,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused with HTTP ${res.statusCode}`));
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
    socket.once('open', () => {
      let markClosed!: () => void;
      const client: Client = {
        key: spec.key,
        socket,
        pending: new Map(),
        closedByBench: false,
        closed: new Promise<void>((done) => {
          markClosed = done;
        }),
        soakIds: [],
        soakChannels: [],
        soakTimes: [],
      };
      socket.on('message', (data) => onMessage(client, data));
      socket.on('error', () => {});
      socket.on('close', (code, reason) => {
        if (!client.closedByBench)
          unexpectedCloses.push({ key: client.key, code, reason: reason.toString() });
        for (const pending of client.pending.values()) {
          clearTimeout(pending.timer);
          pending.reject(new Error(`${client.key}: connection closed (${code}) before the reply`));
        }
        client.pending.clear();
        markClosed();
      });
      resolve(client);
    });
  });
}

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}

async function open(url: string, specs: readonly ClientSpec[], concurrency: number): Promise<OpenResult> {
  let retries = 0;
  await runLimited(specs, concurrency, async (spec) => {
    for (let attempt = 1; ; attempt++) {
      try {
        clients.set(spec.key, await connectOnce(url, spec));
        return;
      } catch (error) {
        if (attempt >= OPEN_ATTEMPTS) {
          throw new Error(
            `client ${spec.key} could not connect after ${attempt} attempts: ${(error as Error).message}`,
          );
        }
        retries += 1;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
  });
  return { opened: specs.length, retries };
}

/** Sends the request and resolves with its reply, `repliedAt` and `sentAt` (shared clock) added. */
function ask(item: ClientRequest): Promise<Record<string, unknown>> {
  const client = clients.get(item.key);
  if (!client) return Promise.reject(new Error(`no client ${item.key}`));
  if (client.socket.readyState !== WebSocket.OPEN) {
    return Promise.reject(new Error(`client ${item.key} is not open (state ${client.socket.readyState})`));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.pending.delete(item.message.id);
      reject(
        new Error(`${item.key}: no reply to ${item.message.action} within ${REQUEST_TIMEOUT_MS / 1000} s`),
      );
    }, REQUEST_TIMEOUT_MS);
    const sentAt = hrNow();
    client.pending.set(item.message.id, {
      expect: item.expect,
      tolerate: item.tolerate ?? [],
      resolve: (reply) => resolve({ ...reply, sentAt }),
      reject,
      timer,
    });
    client.socket.send(JSON.stringify(item.message));
  });
}

function listOf<T>(byKey: Record<string, T[]>, key: string): T[] {
  const list = byKey[key] ?? [];
  byKey[key] = list;
  return list;
}

async function sendRequests(items: readonly ClientRequest[], concurrency: number): Promise<RequestResult> {
  const replies: Record<string, Record<string, unknown>> = {};
  const published: Record<string, PublishedReply[]> = {};
  const refused: Record<string, RefusedReply[]> = {};
  await runLimited(items, concurrency, async (item) => {
    const reply = await ask(item);
    const id = item.message.id;
    const sentAt = reply.sentAt as number;
    // `whoami` answers (the connection id) and client publishes' event ids are worth sending
    // back; the rest is just "ok".
    if (reply.type === 'connected') replies[item.key] = { connectionId: reply.connectionId };
    else if (reply.type === 'published') {
      listOf(published, item.key).push({
        id,
        eventId: String(reply.event_id),
        channel: String(reply.channel),
        sentAt,
        repliedAt: reply.repliedAt as number,
      });
    } else if (reply.type === 'error') {
      listOf(refused, item.key).push({ id, code: String(reply.code), sentAt });
    }
  });
  return { replies, published, refused };
}

function awaitTag(tag: string, expected: number, timeoutMs: number): Promise<AwaitResult> {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      tagWaiters.delete(tag);
      const times = tagTimes.get(tag) ?? [];
      tagTimes.delete(tag);
      resolve({ count: times.length, times: Float64Array.from(times) });
    };
    const timer = setTimeout(finish, timeoutMs);
    if ((tagTimes.get(tag)?.length ?? 0) >= expected) return finish();
    tagWaiters.set(tag, { expected, wake: finish });
  });
}

function track(tag: string): void {
  tracked.set(tag, { keys: [], ids: [], channels: [], seqs: [], times: [], lastAt: hrNow() });
}

async function take(
  tag: string,
  expected: number,
  timeoutMs: number,
  quietMs: number,
): Promise<TrackedReceipts> {
  const receipts = tracked.get(tag);
  if (!receipts) throw new Error(`tag ${tag} is not tracked here`);
  const deadline = hrNow() + timeoutMs;
  const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
  while (receipts.ids.length < expected && hrNow() < deadline) await pause();
  while (hrNow() - receipts.lastAt < quietMs && hrNow() < deadline) await pause();
  tracked.delete(tag);
  return {
    keys: receipts.keys,
    ids: receipts.ids,
    channels: receipts.channels,
    seqs: Float64Array.from(receipts.seqs),
    times: Float64Array.from(receipts.times),
  };
}

function counts(): Counts {
  let openCount = 0;
  for (const client of clients.values()) if (client.socket.readyState === WebSocket.OPEN) openCount += 1;
  return {
    clients: clients.size,
    open: openCount,
    events,
    untagged,
    unexpectedCloses: unexpectedCloses.slice(0, 50),
  };
}

/** Lost, duplicated and unexpected deliveries of the soak, for this worker's clients. */
function soakEvaluate(soakClients: readonly SoakClient[], published: readonly SoakEvent[]): SoakEvaluation {
  return judgeSoak(
    soakClients.map((spec) => {
      const client = clients.get(spec.key);
      return {
        spec,
        ids: client?.soakIds ?? [],
        channels: client?.soakChannels ?? [],
        times: client?.soakTimes ?? [],
        state: client ? `socket state ${client.socket.readyState}` : 'client unknown to the worker',
      };
    }),
    published,
  );
}

async function closeAll(timeoutMs: number): Promise<number> {
  const all = [...clients.values()];
  for (const client of all) {
    client.closedByBench = true;
    if (client.socket.readyState === WebSocket.OPEN || client.socket.readyState === WebSocket.CONNECTING) {
      client.socket.close(1000);
    }
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(all.map((client) => client.closed)),
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  for (const client of all) client.socket.terminate();
  clients.clear();
  soakMode = false;
  return all.length;
}

async function handle(request: WorkerRequestWithId): Promise<unknown> {
  switch (request.op) {
    case 'open':
      return open(request.url, request.clients, request.concurrency);
    case 'request':
      return sendRequests(request.items, request.concurrency);
    case 'await':
      return awaitTag(request.tag, request.expected, request.timeoutMs);
    case 'track':
      return track(request.tag);
    case 'take':
      return take(request.tag, request.expected, request.timeoutMs, request.quietMs);
    case 'soakStart':
      soakMode = true;
      return counts();
    case 'soakEvaluate':
      return soakEvaluate(request.clients, request.events);
    case 'counts':
      return counts();
    case 'closeAll':
      return closeAll(request.timeoutMs);
  }
}

function reply(message: WorkerReply): void {
  if (process.connected) process.send?.(message);
}

process.on('message', (raw) => {
  const request = raw as WorkerRequestWithId;
  handle(request).then(
    (result) => reply({ rid: request.rid, ok: true, result }),
    (error: unknown) =>
      reply({ rid: request.rid, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

function shutdown(): void {
  for (const client of clients.values()) client.socket.terminate();
  process.exit(0);
}
// The bench is gone (exited, crashed or killed): nothing is left to report to, so leave too.
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGINT', () => {
  // Ctrl-C reaches the whole process group; the bench decides when workers stop.
});
if (!process.send) {
  process.stderr.write('client-worker.ts is started by bench/run.ts (it needs an IPC channel)\n');
  process.exit(2);
}
process.send({ ready: true });
