/**
 * What the local stack spent, counted as AWS would bill it: Lambda invocations by function,
 * DynamoDB requests by operation, and client messages by route (whether a function ran for them
 * or the gateway answered a `MOCK` route itself). Tests read it at `GET /local/meter` to show that
 * a keep-alive reaches no function and no table (docs/design/keep-alive.md). Local only.
 *
 * DynamoDB requests are counted without touching them, as the bench does: Node's
 * `http.client.request.start` diagnostics channel reports every outgoing HTTP request of this
 * process, and a DynamoDB request names its operation in `X-Amz-Target`. Every DynamoDB request
 * of the process counts: the handlers', and the local console's while a dashboard is open.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { isLoopbackHost, pathOf, type RequestHandler, readBody, sendJson } from '../http-io.js';
import type { LocalFunction } from './lambda-runtime.js';

export const METER_PATH = '/local/meter';

const HTTP_REQUESTS = 'http.client.request.start';
const DYNAMODB_TARGET = 'DynamoDB_20120810.';

export interface MeterReading {
  /** Invocations by function name (`switchboard-ping`), throttled ones included. */
  readonly invocations: Readonly<Record<string, number>>;
  /** DynamoDB requests by operation (`GetItem`, `Query`, …). */
  readonly dynamodb: Readonly<Record<string, number>>;
  /** Client messages handled, by route key. */
  readonly messages: Readonly<Record<string, number>>;
}

const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
const sorted = (counts: Map<string, number>) =>
  Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));

export class LocalMeter {
  private readonly invocations = new Map<string, number>();
  private readonly dynamodb = new Map<string, number>();
  private readonly messages = new Map<string, number>();
  private closed = false;
  private readonly onRequest = (message: unknown) => {
    const target = (message as { request: ClientRequest }).request.getHeader('x-amz-target');
    if (typeof target === 'string' && target.startsWith(DYNAMODB_TARGET)) {
      bump(this.dynamodb, target.slice(DYNAMODB_TARGET.length));
    }
  };

  constructor() {
    subscribe(HTTP_REQUESTS, this.onRequest);
  }

  /** `fn`, counting its invocations. */
  metered(fn: LocalFunction): LocalFunction {
    return {
      name: fn.name,
      invoke: (event) => {
        bump(this.invocations, fn.name);
        return fn.invoke(event);
      },
    };
  }

  /** A client message was handled on `routeKey`. */
  message(routeKey: string): void {
    bump(this.messages, routeKey);
  }

  read(): MeterReading {
    return {
      invocations: sorted(this.invocations),
      dynamodb: sorted(this.dynamodb),
      messages: sorted(this.messages),
    };
  }

  /** Stops counting DynamoDB requests. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    unsubscribe(HTTP_REQUESTS, this.onRequest);
  }
}

/** `GET /local/meter`: the counts so far (loopback only). */
export function createMeterRoute(meter: LocalMeter): RequestHandler {
  return async (req, res) => {
    if (pathOf(req.url) !== METER_PATH) return false;
    await readBody(req, 0);
    if (!isLoopbackHost(req.headers.host)) {
      sendJson(res, 403, { message: 'the meter answers requests to 127.0.0.1 or localhost only' });
    } else if (req.method !== 'GET') {
      sendJson(res, 405, { message: `use GET on ${METER_PATH}` });
    } else {
      sendJson(res, 200, meter.read(), { 'Cache-Control': 'no-store' });
    }
    return true;
  };
}
