/**
 * A loopback TCP proxy that can play "the server restarted": `refuse()` cuts every open
 * connection (RST) and stops listening, so new connections are refused, and `accept()` listens
 * again on the same port. That is exactly what a DynamoDB restart looks like to the SDK (reset
 * keep-alive sockets, then `ECONNREFUSED`, then answers), without losing the data an
 * `-inMemory` DynamoDB Local holds and without the seconds a JVM takes to start. Test-only: the
 * local stack puts it between the handlers and DynamoDB when fault injection is on.
 */
import { connect, createServer, type Socket } from 'node:net';
import { LocalStackError } from '../errors.js';
import { listenOnLoopback } from '../listen.js';
import { type LocalLog, silentLog } from '../log.js';

export interface TcpProxyProps {
  /** Where connections are forwarded. */
  readonly target: { readonly host: string; readonly port: number };
  /** The proxy's loopback port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** @default silent */
  readonly log?: LocalLog;
}

export interface TcpProxy {
  /** The port the proxy listens on (kept across `refuse()` / `accept()`). */
  readonly port: number;
  /** True while new connections are accepted. */
  readonly accepting: boolean;
  /** Resets every open connection and stops listening. Resolves with how many were cut. Idempotent. */
  refuse(): Promise<number>;
  /** Listens again on the same port. Idempotent. */
  accept(): Promise<void>;
  /** Stops for good. Idempotent. */
  close(): Promise<void>;
}

/** Rebinding the same port right after closing it can race the kernel; a few short tries. */
const RELISTEN_ATTEMPTS = 20;

export async function startTcpProxy(props: TcpProxyProps): Promise<TcpProxy> {
  const log = props.log ?? silentLog;
  /** Each accepted connection with its upstream. */
  const pairs = new Set<readonly [Socket, Socket]>();
  let accepting = false;
  let closed = false;

  const server = createServer((client) => {
    const upstream = connect({ host: props.target.host, port: props.target.port });
    const pair = [client, upstream] as const;
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });

  let port: number;
  try {
    port = await listenOnLoopback(server, props.port ?? 0);
  } catch (error) {
    throw new LocalStackError(`the DynamoDB fault proxy cannot listen: ${(error as Error).message}`, {
      cause: error,
    });
  }
  accepting = true;

  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  /** Resets every open connection: a process that dies does not finish its answers politely. */
  const cutAll = () => {
    const count = pairs.size;
    for (const pair of pairs) {
      for (const socket of pair) {
        try {
          socket.resetAndDestroy();
        } catch {
          socket.destroy();
        }
      }
    }
    pairs.clear();
    return count;
  };

  return {
    port,
    get accepting() {
      return accepting;
    },
    async refuse() {
      if (!accepting || closed) return 0;
      accepting = false;
      const closing = stopListening();
      const cut = cutAll();
      await closing;
      log.debug(`DynamoDB fault proxy: refusing connections (${cut} cut)`);
      return cut;
    },
    async accept() {
      if (accepting || closed) return;
      for (let attempt = 1; ; attempt++) {
        try {
          await listenOnLoopback(server, port);
          break;
        } catch (error) {
          if (attempt >= RELISTEN_ATTEMPTS) {
            log.error(`DynamoDB fault proxy cannot listen on ${port} again`, error);
            throw error;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      accepting = true;
      log.debug('DynamoDB fault proxy: accepting connections again');
    },
    async close() {
      if (closed) return;
      closed = true;
      accepting = false;
      const closing = stopListening();
      cutAll();
      await closing;
    },
  };
}
