/**
 * The local HTTP API (API Gateway HTTP API, payload format 2.0) in front of the token-exchange
 * function: `POST /api/v1/auth`. Its CORS answers mirror the stack's `corsPreflight` (the listed
 * origins only, none by default; `POST`, `authorization` and `content-type`, one hour), so a
 * browser behaves as against AWS. Any other path is HTTP API's 404 `{"message":"Not Found"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { pathOf, type RequestHandler, readBody, send, sendJson } from '../http-io.js';
import { type LocalLog, silentLog } from '../log.js';
import { apiGatewayId, clfTime } from './aws-ids.js';
import type { LocalFunction } from './lambda-runtime.js';
import { toProxyResult } from './websocket-events.js';

export interface HttpApiProps {
  /** Functions by route key, e.g. `POST /api/v1/auth`. */
  readonly routes: ReadonlyMap<string, LocalFunction>;
  /** CORS allow-list: origins whose pages may call the routes from a browser. @default [] (none) */
  readonly allowedOrigins?: readonly string[];
  /** @default a random API id */
  readonly apiId?: string;
  /** @default '000000000000' */
  readonly account?: string;
  /** @default silent */
  readonly log?: LocalLog;
}

/** The token exchange's path, on AWS and locally (PROTOCOL §1). */
export const TOKEN_EXCHANGE_PATH = '/api/v1/auth';
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

function sourceIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/**
 * The payload 2.0 event: lower-case header names with repeated values joined by commas, cookies
 * moved to `cookies`, repeated query parameters joined by commas, binary bodies base64-encoded.
 */
export function httpApiEvent(
  req: Pick<IncomingMessage, 'method' | 'url' | 'rawHeaders' | 'httpVersion'> & { readonly sourceIp: string },
  body: Buffer,
  context: {
    readonly routeKey: string;
    readonly apiId: string;
    readonly account: string;
    readonly now?: Date;
  },
): APIGatewayProxyEventV2 {
  const now = context.now ?? new Date();
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'cookie') cookies.push(...value.split(/;\s*/).filter(Boolean));
    else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const url = req.url ?? '/';
  const rawPath = pathOf(url);
  const rawQueryString = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const domainName = headers.host ?? 'localhost';
  const isText = TEXT_TYPES.test(headers['content-type'] ?? 'text/plain');
  return {
    version: '2.0',
    routeKey: context.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: context.account,
      apiId: context.apiId,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: apiGatewayId(),
      routeKey: context.routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

/** The CORS response headers for `origin`, or none when it is not allowed. */
export function corsHeaders(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): Record<string, string> {
  if (origin === undefined) return {};
  if (allowedOrigins.includes('*')) return { 'access-control-allow-origin': '*' };
  return allowedOrigins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
}

/** Writes a payload 2.0 response: a structured result as is, anything else as a 200 JSON body. */
function writeResult(res: ServerResponse, result: unknown, cors: Record<string, string>): void {
  const structured = toProxyResult(result);
  if (!structured) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    send(res, 200, body, { 'content-type': 'application/json', ...cors });
    return;
  }
  const cookies = (result as { cookies?: unknown }).cookies;
  const headers: Record<string, string | string[]> = { ...structured.headers, ...cors };
  if (Array.isArray(cookies) && cookies.length > 0) headers['set-cookie'] = cookies.map(String);
  const body = structured.body ?? '';
  send(res, structured.statusCode, structured.isBase64Encoded ? Buffer.from(body, 'base64') : body, headers);
}

export function createHttpApi(props: HttpApiProps): RequestHandler {
  const log = props.log ?? silentLog;
  const allowedOrigins = props.allowedOrigins ?? [];
  const apiId = props.apiId ?? 'localhttp1';
  const paths = new Set([...props.routes.keys()].map((key) => key.split(' ')[1]));
  return async (req, res) => {
    const path = pathOf(req.url);
    const cors = corsHeaders(req.headers.origin, allowedOrigins);
    if (req.method === 'OPTIONS' && paths.has(path) && req.headers['access-control-request-method']) {
      await readBody(req, 0);
      const preflight =
        Object.keys(cors).length === 0
          ? {}
          : {
              ...cors,
              'access-control-allow-methods': 'POST',
              'access-control-allow-headers': 'authorization,content-type',
              'access-control-max-age': '3600',
            };
      send(res, 204, '', preflight);
      return true;
    }
    const routeKey = `${req.method} ${path}`;
    const fn = props.routes.get(routeKey);
    if (!fn) return false;
    const { body, tooLarge } = await readBody(req, MAX_BODY_BYTES);
    if (tooLarge) {
      sendJson(res, 413, { message: 'Request Entity Too Large' }, cors);
      return true;
    }
    const event = httpApiEvent({ ...pick(req), sourceIp: sourceIp(req) }, body, {
      routeKey,
      apiId,
      account: props.account ?? '000000000000',
    });
    try {
      writeResult(res, await fn.invoke(event), cors);
    } catch (error) {
      log.error(`${routeKey} failed`, error);
      // HTTP API's answer when the Lambda integration fails.
      sendJson(res, 500, { message: 'Internal Server Error' }, cors);
    }
    return true;
  };
}

function pick(req: IncomingMessage) {
  return { method: req.method, url: req.url, rawHeaders: req.rawHeaders, httpVersion: req.httpVersion };
}
