/** A real `ws` client for tests: connect (or learn the refusal status), send, and await messages. */
import WebSocket from 'ws';

export type Message = Record<string, unknown> & { type: string };

export class TestClient {
  private readonly inbox: Message[] = [];
  private waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      const waiter = this.waiters.find((w) => w.match(message));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      } else {
        this.inbox.push(message);
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  /** Opens a connection; rejects with `HandshakeStatusError` carrying the HTTP status on refusal. */
  static connect(
    url: string,
    options: { token?: string; headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<TestClient> {
    const target = options.token ? `${url}?token=${encodeURIComponent(options.token)}` : url;
    const socket = new WebSocket(target, options.protocols ?? [], { headers: options.headers ?? {} });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_req, res) => {
        reject(new HandshakeStatusError(res.statusCode ?? 0));
        socket.terminate();
      });
      socket.once('error', (error) => reject(error));
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message (already received or still to come) that matches, within `timeoutMs`. */
  next(match: (m: Message) => boolean = () => true, timeoutMs = 5000): Promise<Message> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as Message);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching message within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox)}`));
      }, timeoutMs);
      const done = (m: Message) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Sends a message and waits for the reply of the given type (or an error). */
  async request(message: Record<string, unknown>, replyType?: string): Promise<Message> {
    this.send(message);
    return this.next((m) => m.type === 'error' || replyType === undefined || m.type === replyType);
  }

  /** Messages received and not yet consumed by `next`. */
  pending(): Message[] {
    return [...this.inbox];
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close();
    }
    return this.closed;
  }
}

export class HandshakeStatusError extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
  }
}

/** The HTTP status a refused handshake answered with, or 101 if it opened. */
export async function handshakeStatus(
  url: string,
  options: Parameters<typeof TestClient.connect>[1] = {},
): Promise<number> {
  try {
    const client = await TestClient.connect(url, options);
    await client.close();
    return 101;
  } catch (error) {
    if (error instanceof HandshakeStatusError) return error.status;
    throw error;
  }
}
