/**
 * A metering HTTP proxy between the local stack's handlers and DynamoDB (Local): it counts the
 * requests the stack's own handlers make, by operation (`X-Amz-Target`), and what they consume.
 *
 * Why a proxy: the handlers build their DynamoDB client at import, from configuration
 * (`adapters/aws-clients.ts`), so there is no client to add a metering middleware to without
 * changing the product, and the stack already takes the DynamoDB endpoint as an option (what
 * `SWITCHBOARD_DYNAMODB_ENDPOINT` sets). Here the handlers are simply pointed at this proxy; the
 * bench's own reads go to DynamoDB directly, so they are never counted.
 *
 * While metering (between `start()` and `take()`), a request of an operation that can report
 * consumed capacity gets `ReturnConsumedCapacity: TOTAL` unless it asked for it already, the same
 * thing `history-cost.ts` does with a middleware: asking changes what the response reports, not
 * what the request consumes (DynamoDB Local does not check signatures, so the rewritten body is
 * accepted). Responses are passed on byte for byte. Outside the window requests go through
 * untouched and uncounted.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { StageError } from './context.js';

/** What one operation (on one index, if any) was asked and consumed. */
export interface OperationTally {
  readonly requests: number;
  /** Answers with an HTTP error status (throttles, conditional failures, validation errors). */
  readonly errors: number;
  /** Capacity units reported in `ConsumedCapacity`, summed (reads or writes by the operation). */
  readonly readUnits: number;
  readonly writeUnits: number;
}

/** By operation, `Query` or `Query sweep` (operation and index). */
export type DynamoTally = Readonly<Record<string, OperationTally>>;

export interface DynamoMeter {
  /** `http://127.0.0.1:{port}`: give this to the stack as its DynamoDB endpoint. */
  readonly endpoint: string;
  /** Starts counting from zero. */
  start(): void;
  /** What was counted since `start()`; counting stops. */
  take(): DynamoTally;
  /** Stops the proxy and its upstream sockets. Idempotent. */
  close(): Promise<void>;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

interface Capacity {
  readonly CapacityUnits?: number;
}

function readBody(message: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.once('end', () => resolve(Buffer.concat(chunks)));
    message.once('error', reject);
  });
}

/** Starts the proxy on a free loopback port, forwarding to `target` (an `http://` endpoint). */
export async function startDynamoMeter(target: string): Promise<DynamoMeter> {
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:') {
    throw new StageError(`the DynamoDB meter needs a plain-HTTP endpoint to sit in front of (got ${target})`);
  }
  const agent = new Agent({ keepAlive: true });
  const tally = new Map<
    string,
    { requests: number; errors: number; readUnits: number; writeUnits: number }
  >();
  let metering = false;

  const server = createServer((req, res) => {
    void (async () => {
      let body = await readBody(req);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      const metered = metering;
      let key = operation;
      const headers: OutgoingHttpHeaders = { ...req.headers };
      if (metered && (READS.has(operation) || WRITES.has(operation))) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        if (typeof input.IndexName === 'string') key = `${operation} ${input.IndexName}`;
        if (input.ReturnConsumedCapacity === undefined || input.ReturnConsumedCapacity === 'NONE') {
          input.ReturnConsumedCapacity = 'TOTAL';
          body = Buffer.from(JSON.stringify(input), 'utf8');
          headers['content-length'] = String(body.length);
        }
      }
      const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
        (resolve, reject) => {
          const out = httpRequest(
            {
              host: upstream.hostname,
              port: upstream.port || 80,
              method: req.method,
              path: req.url,
              headers,
              agent,
            },
            (response) => {
              readBody(response).then(
                (data) =>
                  resolve({ status: response.statusCode ?? 502, headers: response.headers, body: data }),
                reject,
              );
            },
          );
          out.once('error', reject);
          out.end(body);
        },
      );
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      if (!metered || !metering) return;
      const entry = tally.get(key) ?? { requests: 0, errors: 0, readUnits: 0, writeUnits: 0 };
      tally.set(key, entry);
      entry.requests += 1;
      if (answer.status >= 400) entry.errors += 1;
      let consumed: Capacity | Capacity[] | undefined;
      try {
        consumed = (JSON.parse(answer.body.toString('utf8')) as { ConsumedCapacity?: Capacity | Capacity[] })
          .ConsumedCapacity;
      } catch {
        // Not JSON (an error page): nothing consumed to read.
      }
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
        (sum, c) => sum + (c.CapacityUnits ?? 0),
        0,
      );
      if (READS.has(operation)) entry.readUnits += units;
      else entry.writeUnits += units;
    })().catch(() => {
      // DynamoDB unreachable: the SDK sees a reset socket, as it would without the proxy.
      res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    start() {
      tally.clear();
      metering = true;
    },
    take() {
      metering = false;
      const result: Record<string, OperationTally> = {};
      for (const [key, entry] of [...tally.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        result[key] = { ...entry };
      }
      tally.clear();
      return result;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).finally(() => agent.destroy());
      return closing;
    },
  };
}
