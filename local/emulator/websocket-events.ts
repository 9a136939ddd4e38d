/**
 * The events API Gateway (WebSocket API, Lambda proxy integration) hands to route handlers, built
 * as pure functions of what the gateway saw. Shapes follow what API Gateway actually sends,
 * including the parts `@types/aws-lambda` leaves out (`headers` on `$connect`, `identity`,
 * `disconnectStatusCode` / `disconnectReason` on `$disconnect`).
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayEventWebsocketRequestContextV2 } from 'aws-lambda';
import { apiGatewayId, clfTime } from './aws-ids.js';

export interface WebSocketIdentity {
  readonly sourceIp: string;
  /** Absent when the client sent no `User-Agent`. */
  readonly userAgent?: string;
}

export type WebSocketRequestContext = APIGatewayEventWebsocketRequestContextV2 & {
  identity: WebSocketIdentity;
  disconnectStatusCode?: number;
  disconnectReason?: string;
};

export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  body?: string;
  isBase64Encoded: boolean;
}

/** What stays the same for every event of one connection. */
export interface ConnectionFacts {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly identity: WebSocketIdentity;
  readonly stage: string;
  readonly domainName: string;
  readonly apiId: string;
}

/** Route keys a message can select: the special `$` routes are never selected by a body. */
export function selectableRouteKeys(routeKeys: Iterable<string>): ReadonlySet<string> {
  return new Set([...routeKeys].filter((key) => !key.startsWith('$')));
}

/**
 * Route selection for `$request.body.action`: a JSON object whose `action` is a string naming a
 * route goes there; everything else (not JSON, not an object, no or unknown action) to `$default`.
 */
export function selectRoute(body: string, routeKeys: ReadonlySet<string>): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return '$default';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return '$default';
  const action = (json as Record<string, unknown>).action;
  return typeof action === 'string' && routeKeys.has(action) ? action : '$default';
}

/**
 * Headers as received (original case, from Node's `rawHeaders`). A repeated header keeps its last
 * value in `headers` and every value in `multiValueHeaders`, as in API Gateway's proxy events.
 */
export function collectHeaders(rawHeaders: readonly string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  return { headers, multiValueHeaders };
}

/** Query string parameters, or nothing at all when the URL has none (API Gateway omits both fields). */
export function collectQuery(url: string): {
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
} {
  const index = url.indexOf('?');
  if (index === -1 || index === url.length - 1) return {};
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(url.slice(index + 1))) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  if (Object.keys(single).length === 0) return {};
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

function requestContext(
  facts: ConnectionFacts,
  routeKey: string,
  eventType: WebSocketRequestContext['eventType'],
  now: Date,
): WebSocketRequestContext {
  return {
    routeKey,
    messageId: apiGatewayId(),
    eventType,
    extendedRequestId: apiGatewayId(),
    requestTime: clfTime(now),
    messageDirection: 'IN',
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now.getTime(),
    identity: { ...facts.identity },
    requestId: apiGatewayId(),
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
  };
}

/** X-Ray trace header: `Root=1-{epoch seconds, hex}-{96 random bits, hex}`. */
function traceId(now: Date): string {
  return `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/**
 * `$connect`: the handshake's headers and query string, plus the headers API Gateway adds in
 * front of the integration (`X-Forwarded-*`, `X-Amzn-Trace-Id`).
 */
export function connectEvent(
  facts: ConnectionFacts,
  request: { readonly rawHeaders: readonly string[]; readonly url: string; readonly localPort: number },
  now = new Date(),
): WebSocketEvent {
  const { headers, multiValueHeaders } = collectHeaders(request.rawHeaders);
  const forwardedFor = Object.entries(headers).find(
    ([name]) => name.toLowerCase() === 'x-forwarded-for',
  )?.[1];
  const added: Record<string, string> = {
    'X-Amzn-Trace-Id': traceId(now),
    'X-Forwarded-For': forwardedFor ? `${forwardedFor}, ${facts.identity.sourceIp}` : facts.identity.sourceIp,
    'X-Forwarded-Port': String(request.localPort),
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(added)) {
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) {
        delete headers[existing];
        delete multiValueHeaders[existing];
      }
    }
    headers[name] = value;
    multiValueHeaders[name] = [value];
  }
  return {
    headers,
    multiValueHeaders,
    ...collectQuery(request.url),
    requestContext: requestContext(facts, '$connect', 'CONNECT', now),
    isBase64Encoded: false,
  };
}

/** A client message routed to `routeKey`. */
export function messageEvent(
  facts: ConnectionFacts,
  message: { readonly routeKey: string; readonly body: string },
  now = new Date(),
): WebSocketEvent {
  return {
    requestContext: requestContext(facts, message.routeKey, 'MESSAGE', now),
    body: message.body,
    isBase64Encoded: false,
  };
}

/** The reason API Gateway reports for a close code when the closing side gave none. */
export function disconnectReasonFor(code: number, reason = ''): string {
  if (reason !== '') return reason;
  switch (code) {
    case 1000:
      return 'Connection Closed Normally';
    case 1001:
      return 'Going away';
    case 1003:
      return 'Unsupported data';
    case 1005:
      return 'Client-side close frame status not set';
    case 1006:
      return 'Connection closed abnormally';
    case 1009:
      return 'Message too big';
    default:
      return '';
  }
}

/** `$disconnect`: API Gateway sends only these few headers, not the handshake's. */
export function disconnectEvent(
  facts: ConnectionFacts,
  close: { readonly host: string; readonly statusCode: number; readonly reason: string },
  now = new Date(),
): WebSocketEvent {
  const headers = { Host: close.host, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' };
  const context = requestContext(facts, '$disconnect', 'DISCONNECT', now);
  context.disconnectStatusCode = close.statusCode;
  context.disconnectReason = close.reason;
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: context,
    isBase64Encoded: false,
  };
}

/** The frame API Gateway sends when a route's integration fails, byte for byte. */
export function internalErrorFrame(connectionId: string, requestId: string): string {
  return `{"message": "Internal server error", "connectionId":"${connectionId}", "requestId":"${requestId}"}`;
}

/** A handler's proxy response, or `undefined` when it is not one (API Gateway's "malformed" case). */
export interface ProxyResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

export function toProxyResult(value: unknown): ProxyResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const statusCode = Number(record.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  const headers: Record<string, string> = {};
  if (typeof record.headers === 'object' && record.headers !== null) {
    for (const [name, v] of Object.entries(record.headers)) {
      if (v !== undefined && v !== null) headers[name] = String(v);
    }
  }
  return {
    statusCode,
    headers,
    ...(typeof record.body === 'string' ? { body: record.body } : {}),
    isBase64Encoded: record.isBase64Encoded === true,
  };
}

/** Case-insensitive header lookup (handlers may answer `Sec-WebSocket-Protocol` in any case). */
export function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
