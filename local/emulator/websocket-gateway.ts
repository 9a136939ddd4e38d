/**
 * A local API Gateway WebSocket API: the handshake, route selection and connection lifecycle of
 * the real service, driving the same handler modules in-process (in the spirit of
 * architect/sandbox). What API Gateway does that clients can observe is reproduced here:
 * - `$connect` runs BEFORE the upgrade; a non-2xx answer is the handshake's HTTP status and no
 *   WebSocket is opened; the handler's `Sec-WebSocket-Protocol` header is the one answered;
 * - messages are routed on `$request.body.action`, two-way routes send the handler's `body` back,
 *   and a failing handler yields API Gateway's `{"message": "Internal server error", ...}` frame;
 * - `MOCK` routes run no function: their request template is evaluated (`mapping-template.ts`)
 *   and, one-way, nothing is sent back;
 * - binary frames are refused with close code 1003, messages over 128 KB with 1009;
 * - idle connections (10 min) and old ones (2 h) are closed with 1001 "Going away";
 * - `$disconnect` follows every close, with `disconnectStatusCode` and `disconnectReason`.
 * Deliberately different: invocations for one connection run one at a time, in arrival order
 * (API Gateway promises no order; clients rely on it locally and it keeps tests deterministic).
 * API Gateway holds no queue per connection: it invokes a handler for every message as it
 * arrives, and each event's `requestTimeEpoch` is that arrival. The local queue is therefore kept
 * faithful and bounded: events are stamped when the frame arrives (so the handlers' rate limit
 * sees a burst as a burst, and closes an abusive connection as on AWS); past
 * `MAX_WAITING_MESSAGES` waiting, the gateway stops reading the socket until half have drained
 * (TCP backpressure: nothing is dropped, memory stays bounded); and once a connection is closed,
 * by the client or the gateway, the messages still waiting are not handled (only `$disconnect`).
 * A client that leaves while its socket is paused is noticed when reading resumes, after at most
 * half the bound of handler runs.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type LocalLog, silentLog } from '../log.js';
import { apiGatewayId, apiId as newApiId } from './aws-ids.js';
import type { LocalFunction } from './lambda-runtime.js';
import { checkTemplate, mockStatusCode } from './mapping-template.js';
import {
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  disconnectReasonFor,
  headerValue,
  internalErrorFrame,
  messageEvent,
  selectableRouteKeys,
  selectRoute,
  toProxyResult,
  type WebSocketIdentity,
} from './websocket-events.js';

/** API Gateway's message payload limit. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** How long a server-side close waits for the client's close frame before dropping the socket. */
const CLOSE_HANDSHAKE_MS = 1_000;
/** How long `close()` waits for in-flight handlers (they cannot be cancelled). */
const DRAIN_MS = 10_000;
/**
 * Messages of one connection waiting for their handler, beyond which the gateway stops reading
 * its socket; frames already read in the same chunk (one socket read, 64 KB) still join. So a
 * connection holds at most 128 messages plus 64 KB (16 MB with 128 KB messages). The bound is
 * above the default burst plus abuse limit (20 + 50): a burst the handlers would close on AWS is
 * read far enough locally to be closed the same way.
 */
export const MAX_WAITING_MESSAGES = 128;

/** Fault injection for tests; every hook is optional and consulted at the moment it applies. */
export interface GatewayFaults {
  /** Return true to lose this connection's `$disconnect` (AWS delivers it best-effort only). */
  dropDisconnect?(connectionId: string): boolean;
}

/** Sees connections come and go and messages handled (the local dashboard's feed); every hook optional. */
export interface GatewayObserver {
  /** A connection opened, or is gone (its `$disconnect`, if any, has run). */
  connectionChanged?(connectionId: string, state: 'open' | 'closed'): void;
  /** A client message's handler has finished (it may have changed the connection's subscriptions). */
  messageHandled?(connectionId: string, routeKey: string): void;
}

export interface WebSocketGatewayProps {
  /** The function behind each route key (`$connect`, `$disconnect`, `$default` and custom keys). */
  readonly functions: ReadonlyMap<string, LocalFunction>;
  /** Route keys whose handler's returned `body` is sent back to the client (route responses). */
  readonly twoWayRoutes: ReadonlySet<string>;
  /**
   * One-way routes with a `MOCK` integration, by route key: their request template. No function
   * runs; a template the local evaluator cannot emulate is refused here. @default none
   */
  readonly mockRoutes?: ReadonlyMap<string, string>;
  /**
   * Stage name: the WebSocket URL's path. This and the two limits below have no default here: the
   * local stack passes them from the settings table (local/local-settings.ts).
   */
  readonly stage: string;
  /** @default a random 10-character id, like API Gateway's */
  readonly apiId?: string;
  /** API Gateway's idle timeout (`SWITCHBOARD_IDLE_TIMEOUT_SECONDS`). */
  readonly idleTimeoutSeconds: number;
  /** API Gateway's connection duration cap (`SWITCHBOARD_MAX_CONNECTION_SECONDS`). */
  readonly maxConnectionSeconds: number;
  /** @default 131072 (128 KB) */
  readonly maxMessageBytes?: number;
  /** @default no faults */
  readonly faults?: GatewayFaults;
  /** @default none */
  readonly observer?: GatewayObserver;
  /** @default silent */
  readonly log?: LocalLog;
}

/** A connection as tests and the management API see it. */
export interface GatewayConnection {
  readonly connectionId: string;
  /** `connecting` while `$connect` runs (not postable yet), `closing` once a close has begun. */
  readonly state: 'connecting' | 'open' | 'closing';
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly identity: WebSocketIdentity;
  /** The subprotocol answered in the handshake, if any. */
  readonly protocol: string | undefined;
}

class Connection implements GatewayConnection {
  state: GatewayConnection['state'] = 'connecting';
  lastActiveAt: number;
  protocol: string | undefined;
  socket: WebSocket | undefined;
  /** Set when `$connect` admitted the connection: from then on a close owes a `$disconnect`. */
  admitted = false;
  /** The close code and reason when the gateway (not the client) closed the connection. */
  closedBy: { code: number; reason: string } | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Messages received and not yet handed to their handler. */
  waiting = 0;
  private queue: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private resolveFinished!: () => void;
  /** Settles once the connection is gone and its `$disconnect` (if any) has run. */
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });

  constructor(
    readonly facts: ConnectionFacts,
    readonly host: string,
  ) {
    this.lastActiveAt = facts.connectedAt;
  }

  get connectionId() {
    return this.facts.connectionId;
  }
  get connectedAt() {
    return this.facts.connectedAt;
  }
  get identity() {
    return this.facts.identity;
  }

  /** Runs `task` after every task queued before it on this connection. */
  enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task, task);
    return this.queue;
  }

  schedule(ms: number, action: () => void, replace?: NodeJS.Timeout): NodeJS.Timeout {
    if (replace) this.clearTimer(replace);
    const timer = setTimeout(action, ms);
    this.timers.push(timer);
    return timer;
  }

  clearTimer(timer: NodeJS.Timeout) {
    clearTimeout(timer);
    this.timers = this.timers.filter((t) => t !== timer);
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  finish() {
    this.clearTimers();
    this.resolveFinished();
  }
}

type Admission =
  | { readonly accepted: true; readonly protocol: string | undefined }
  | {
      readonly accepted: false;
      readonly status: number;
      readonly body?: string;
      readonly headers?: Record<string, string>;
    };

/** The close code ws sends for a protocol error it raised (its `WS_ERR_*` codes). */
function closeCodeOf(errorCode: string | undefined): number | undefined {
  if (!errorCode?.startsWith('WS_ERR_')) return undefined;
  if (/^WS_ERR_UNSUPPORTED_.*LENGTH$/.test(errorCode)) return 1009;
  if (errorCode === 'WS_ERR_INVALID_UTF8') return 1007;
  if (errorCode === 'WS_ERR_TOO_MANY_BUFFERED_PARTS') return 1008;
  return 1002;
}

function sourceIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** The local WebSocket API. Attach `handleUpgrade` to an http server's `upgrade` event. */
export class WebSocketGateway {
  readonly stage: string;
  readonly apiId: string;
  /** Mutable on purpose: a test may switch faults on and off while the stack runs. */
  faults: GatewayFaults;
  private readonly props: WebSocketGatewayProps;
  private readonly log: LocalLog;
  private readonly routeKeys: ReadonlySet<string>;
  private readonly live = new Map<string, Connection>();
  private readonly pending = new WeakMap<IncomingMessage, Connection>();
  private readonly wss: WebSocketServer;
  private readonly idleMs: number;
  private readonly maxConnectionMs: number;
  private closing: Promise<void> | undefined;

  constructor(props: WebSocketGatewayProps) {
    this.props = props;
    this.stage = props.stage;
    this.apiId = props.apiId ?? newApiId();
    this.faults = props.faults ?? {};
    this.log = props.log ?? silentLog;
    for (const template of props.mockRoutes?.values() ?? []) checkTemplate(template);
    this.routeKeys = selectableRouteKeys([...props.functions.keys(), ...(props.mockRoutes?.keys() ?? [])]);
    this.idleMs = props.idleTimeoutSeconds * 1000;
    this.maxConnectionMs = props.maxConnectionSeconds * 1000;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: props.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      verifyClient: (info, done) => {
        this.admit(info.req).then(
          (admission) => {
            if (admission.accepted) return done(true);
            done(false, admission.status, admission.body, admission.headers);
          },
          (error: unknown) => {
            this.log.error('$connect admission failed', error);
            done(false, 502);
          },
        );
      },
      handleProtocols: (_offered, req) => this.pending.get(req)?.protocol ?? false,
    });
  }

  /** Connections that are connecting or open, by id. */
  get connections(): ReadonlyMap<string, GatewayConnection> {
    return this.live;
  }

  /** Messages of a connection received and not yet handed to their handler (0 when unknown). */
  waiting(connectionId: string): number {
    return this.live.get(connectionId)?.waiting ?? 0;
  }

  /** True for the stage path (`/ws`, with or without a trailing slash or query string). */
  handlesPath(url: string | undefined): boolean {
    const path = (url ?? '/').split('?')[0];
    return path === `/${this.stage}` || path === `/${this.stage}/`;
  }

  /** Entry point for the http server's `upgrade` event on the stage path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws, request) => {
      const connection = this.pending.get(request);
      if (connection) this.opened(connection, ws);
      else ws.terminate();
    });
  }

  /**
   * Sends `data` as one text frame, as `POST @connections/{id}` does. The answer comes once the
   * frame is handed to the connection, not once the client has read it: API Gateway answers the
   * poster without waiting for the client either, so a client that reads slowly must not hold up
   * (and time out) the publisher's calls.
   * @returns false when the connection is unknown, not yet open or closing (API Gateway: 410 Gone)
   */
  post(connectionId: string, data: Buffer): Promise<boolean> {
    const connection = this.live.get(connectionId);
    const socket = connection?.socket;
    if (connection?.state !== 'open' || !socket || socket.readyState !== socket.OPEN) {
      return Promise.resolve(false);
    }
    socket.send(data, { binary: false });
    return Promise.resolve(true);
  }

  /**
   * Closes an open connection from the server side, as `DELETE @connections/{id}` (code 1000) and
   * API Gateway's timeouts (1001) do; `$disconnect` follows with this code.
   * @returns false when the connection is not open
   */
  closeConnection(connectionId: string, code = 1000, reason = ''): boolean {
    const connection = this.live.get(connectionId);
    if (connection?.state !== 'open' || !connection.socket) return false;
    connection.state = 'closing';
    connection.closedBy = { code, reason };
    connection.clearTimers();
    const socket = connection.socket;
    socket.close(code, reason);
    // ws waits 30 s for the client's close frame; API Gateway does not keep a socket that long.
    connection.schedule(CLOSE_HANDSHAKE_MS, () => socket.terminate());
    return true;
  }

  /** Closes every connection (1001 "Going away"), then waits for their `$disconnect` handlers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const id of [...this.live.keys()]) this.closeConnection(id, 1001, 'Going away');
      const finished = Promise.all([...this.live.values()].map((c) => c.finished));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_MS);
      });
      await Promise.race([finished, timeout]);
      clearTimeout(timer);
      for (const connection of this.live.values()) connection.socket?.terminate();
      this.wss.close();
    })();
    return this.closing;
  }

  /** Runs `$connect` for a handshake ws has already validated, and decides its outcome. */
  private async admit(req: IncomingMessage): Promise<Admission> {
    const host = req.headers.host ?? `127.0.0.1:${req.socket.localPort ?? 0}`;
    const userAgent = req.headers['user-agent'];
    const connection = new Connection(
      {
        connectionId: apiGatewayId(),
        connectedAt: Date.now(),
        identity: { sourceIp: sourceIp(req), ...(userAgent === undefined ? {} : { userAgent }) },
        stage: this.stage,
        domainName: host,
        apiId: this.apiId,
      },
      host,
    );
    this.live.set(connection.connectionId, connection);
    this.pending.set(req, connection);
    // The client may give up while `$connect` runs, or ws may drop the socket after admission.
    req.socket.once('close', () => {
      if (connection.state === 'connecting' && connection.admitted) this.closed(connection, 1006, '');
    });

    const admission = await this.runConnect(connection, req);
    if (!admission.accepted) {
      this.live.delete(connection.connectionId);
      connection.finish();
      return admission;
    }
    connection.admitted = true;
    connection.protocol = admission.protocol;
    if (req.socket.destroyed) this.closed(connection, 1006, '');
    return admission;
  }

  private async runConnect(connection: Connection, req: IncomingMessage): Promise<Admission> {
    const fn = this.props.functions.get('$connect');
    // Without a `$connect` route API Gateway admits every handshake.
    if (!fn) return { accepted: true, protocol: undefined };
    const event = connectEvent(connection.facts, {
      rawHeaders: req.rawHeaders,
      url: req.url ?? '/',
      localPort: req.socket.localPort ?? 0,
    });
    let result: unknown;
    try {
      result = await fn.invoke(event);
    } catch (error) {
      // API Gateway answers a failed Lambda proxy integration with 502 Bad Gateway.
      this.log.error(`$connect ${connection.connectionId} failed`, error);
      return { accepted: false, status: 502, body: '{"message": "Internal server error"}', headers: json };
    }
    const response = toProxyResult(result);
    if (!response) {
      this.log.warn(
        `$connect ${connection.connectionId}: malformed Lambda proxy response (no statusCode); answered 502`,
      );
      return { accepted: false, status: 502, body: '{"message": "Internal server error"}', headers: json };
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      this.log.debug(`$connect ${connection.connectionId} admitted`);
      return { accepted: true, protocol: headerValue(response.headers, 'sec-websocket-protocol') };
    }
    this.log.debug(`$connect ${connection.connectionId} refused with ${response.statusCode}`);
    const contentType = headerValue(response.headers, 'content-type');
    return {
      accepted: false,
      status: response.statusCode,
      ...(response.body === undefined ? {} : { body: response.body }),
      headers: { 'Content-Type': contentType ?? 'text/plain; charset=utf-8' },
    };
  }

  private opened(connection: Connection, socket: WebSocket): void {
    if (connection.state !== 'connecting') {
      socket.terminate();
      return;
    }
    connection.state = 'open';
    connection.socket = socket;
    this.props.observer?.connectionChanged?.(connection.connectionId, 'open');
    socket.on('message', (data, isBinary) => this.received(connection, data as Buffer, isBinary));
    socket.on('error', (error: Error & { code?: string }) => {
      // ws has already sent its close frame; remember the code so `$disconnect` reports it.
      const code = closeCodeOf(error.code);
      if (code === undefined) return;
      connection.closedBy ??= { code, reason: disconnectReasonFor(code) };
      connection.state = 'closing';
    });
    socket.on('close', (code, reason) => this.closed(connection, code, reason.toString('utf8')));

    connection.schedule(this.maxConnectionMs, () => this.goAway(connection));
    this.resetIdle(connection);
    // Admitted while the gateway was shutting down: it goes the way of the others.
    if (this.closing) this.goAway(connection);
  }

  /** API Gateway's idle timeout restarts with every client message (not with messages sent to it). */
  private resetIdle(connection: Connection): void {
    connection.idleTimer = connection.schedule(
      this.idleMs,
      () => this.goAway(connection),
      connection.idleTimer,
    );
  }

  private goAway(connection: Connection): void {
    this.closeConnection(connection.connectionId, 1001, 'Going away');
  }

  private received(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (connection.state !== 'open') return;
    connection.lastActiveAt = Date.now();
    this.resetIdle(connection);
    if (isBinary) {
      // "API Gateway rejects it and disconnects the client with code 1003" (binary media types doc).
      this.closeConnection(connection.connectionId, 1003, 'Unsupported data');
      return;
    }
    const body = data.toString('utf8');
    const routeKey = selectRoute(body, this.routeKeys);
    // Built now, so that requestTimeEpoch is the arrival, as API Gateway stamps it.
    const event = messageEvent(connection.facts, { routeKey, body });
    const socket = connection.socket;
    connection.waiting += 1;
    if (connection.waiting >= MAX_WAITING_MESSAGES) socket?.pause();
    void connection.enqueue(async () => {
      connection.waiting -= 1;
      if (connection.waiting <= MAX_WAITING_MESSAGES / 2 && socket?.isPaused) socket.resume();
      // The client left, or the gateway closed the connection: nobody is there to answer.
      if (connection.state !== 'open') return;
      await this.dispatch(connection, routeKey, event);
    });
  }

  private async dispatch(
    connection: Connection,
    routeKey: string,
    event: ReturnType<typeof messageEvent>,
  ): Promise<void> {
    const { requestId } = event.requestContext;
    const mock = this.props.mockRoutes?.get(routeKey);
    if (mock !== undefined) {
      this.mock(connection, routeKey, mock, event);
      return;
    }
    const fn = this.props.functions.get(routeKey);
    if (!fn) {
      // No `$default` route: API Gateway answers with this frame instead of invoking anything.
      this.send(
        connection,
        `{"message": "Forbidden", "connectionId":"${connection.connectionId}", "requestId":"${requestId}"}`,
      );
      return;
    }
    try {
      const result = await fn.invoke(event);
      const response = toProxyResult(result);
      if (this.props.twoWayRoutes.has(routeKey) && response?.body !== undefined) {
        const text = response.isBase64Encoded
          ? Buffer.from(response.body, 'base64').toString('utf8')
          : response.body;
        this.send(connection, text);
      }
    } catch (error) {
      this.log.error(`${routeKey} ${connection.connectionId} failed`, error);
      this.send(connection, internalErrorFrame(connection.connectionId, requestId));
    }
    this.props.observer?.messageHandled?.(connection.connectionId, routeKey);
  }

  /**
   * A one-way `MOCK` route: API Gateway evaluates the request template for the status code and
   * answers nothing. A template that fails is API Gateway's execution error, logged, still silent.
   */
  private mock(
    connection: Connection,
    routeKey: string,
    template: string,
    event: ReturnType<typeof messageEvent>,
  ): void {
    const { identity: _identity, ...context } = event.requestContext;
    try {
      mockStatusCode(template, { context, body: event.body ?? '' });
    } catch (error) {
      this.log.error(`${routeKey} ${connection.connectionId}: mock integration failed`, error);
    }
    this.props.observer?.messageHandled?.(connection.connectionId, routeKey);
  }

  private send(connection: Connection, text: string): void {
    const socket = connection.socket;
    if (connection.state === 'open' && socket?.readyState === socket?.OPEN) socket?.send(text);
  }

  /** Any end of a connection: forget it, then run `$disconnect` after its queued messages. */
  private closed(connection: Connection, code: number, reason: string): void {
    if (this.live.get(connection.connectionId) !== connection) return;
    this.live.delete(connection.connectionId);
    connection.state = 'closing';
    connection.clearTimers();
    const { observer } = this.props;
    if (observer?.connectionChanged) {
      void connection.finished.then(() => observer.connectionChanged?.(connection.connectionId, 'closed'));
    }
    const statusCode = connection.closedBy?.code ?? code;
    const disconnectReason = disconnectReasonFor(statusCode, connection.closedBy?.reason ?? reason);
    const fn = this.props.functions.get('$disconnect');
    if (!connection.admitted || !fn) {
      connection.finish();
      return;
    }
    if (this.faults.dropDisconnect?.(connection.connectionId)) {
      this.log.debug(`$disconnect ${connection.connectionId} dropped (fault)`);
      connection.finish();
      return;
    }
    const event = disconnectEvent(connection.facts, {
      host: connection.host,
      statusCode,
      reason: disconnectReason,
    });
    void connection
      .enqueue(async () => {
        try {
          await fn.invoke(event);
          this.log.debug(`$disconnect ${connection.connectionId} (${statusCode} ${disconnectReason})`);
        } catch (error) {
          this.log.error(`$disconnect ${connection.connectionId} failed`, error);
        }
      })
      .finally(() => connection.finish());
  }
}

const json = { 'Content-Type': 'application/json' };
