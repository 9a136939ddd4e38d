/**
 * The `@connections` API of the local WebSocket API (`/{stage}/@connections/{connectionId}`),
 * answering on the wire like API Gateway so the real `@aws-sdk/client-apigatewaymanagementapi`
 * behaves as on AWS: a closed or unknown connection is 410 with `x-amzn-ErrorType:
 * GoneException`, which the SDK raises as `GoneException`. Signatures are not verified.
 * With fault injection on (tests only, see `local/faults/fault-plan.ts`), chosen requests get API Gateway's
 * 410, 429 or 500 answers, or are held like a request that times out.
 */
import type { ServerResponse } from 'node:http';
import { pathOf, type RequestHandler, readBody, send, sendJson } from '../http-io.js';
import { type LocalLog, silentLog } from '../log.js';
import type { CallbackQuota } from './callback-quota.js';
import { MAX_MESSAGE_BYTES, type WebSocketGateway } from './websocket-gateway.js';

export interface ManagementApiProps {
  readonly gateway: WebSocketGateway;
  /**
   * Told about every `POST` with its body and whether it reached the connection (false: 410 Gone),
   * so the local dashboard can count deliveries per event. @default none
   */
  readonly onPost?: (connectionId: string, body: Buffer, delivered: boolean) => void;
  /** Test-only fault injection (`SWITCHBOARD_LOCAL_FAULTS=1`). @default none */
  readonly faults?: ManagementApiFaults;
  /** The account's request quota (`SWITCHBOARD_LOCAL_CALLBACK_RPS`). @default none: no limit */
  readonly quota?: CallbackQuota;
  /** @default silent */
  readonly log?: LocalLog;
}

/** A fault to play for one request: an API Gateway error answer, or a hold (a timeout). */
export type ManagementFault = { readonly answer: 410 | 429 | 500 } | { readonly holdMs: number };

/** What became of a request under fault injection (`timeout:abandoned`: the client gave up first). */
export type RequestOutcome = '410' | '429' | '500' | 'timeout' | 'timeout:abandoned' | 'crashed' | 'passed';

/** The fault plan, as the management API consults it (implemented by `LocalFaults`). */
export interface ManagementApiFaults {
  /** The fault for this request, if any. */
  decide(connectionId: string, method: string): ManagementFault | undefined;
  /** False when a POST must not be delivered: the invocation that sent it has crashed. */
  allowPost(body: Buffer): boolean;
  /** Told what became of every request. */
  record(connectionId: string, outcome: RequestOutcome): void;
}

/**
 * The connection id of an `@connections` path, URL-decoded (ids contain `+`, `/` and `=`, which
 * the SDK percent-encodes). Some clients also encode the `@`.
 */
export function connectionIdFromPath(path: string, stage: string): string | undefined {
  const segments = path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  // ['', stage, '@connections', id]
  if (
    segments.length !== 4 ||
    segments[0] !== '' ||
    segments[1] !== stage ||
    segments[2] !== '@connections'
  ) {
    return undefined;
  }
  return segments[3] || undefined;
}

function gone(res: ServerResponse): void {
  sendJson(res, 410, { message: null }, { 'x-amzn-ErrorType': 'GoneException' });
}

/**
 * API Gateway's error answers, as the SDK reads them (`x-amzn-ErrorType` names the exception):
 * 429 is `LimitExceededException` (the SDK raises that class), 500 `InternalServerErrorException`.
 */
function faultAnswer(res: ServerResponse, status: 410 | 429 | 500): void {
  if (status === 410) gone(res);
  else if (status === 429) {
    sendJson(res, 429, { message: 'Too Many Requests' }, { 'x-amzn-ErrorType': 'LimitExceededException' });
  } else {
    sendJson(
      res,
      500,
      { message: 'Internal server error' },
      { 'x-amzn-ErrorType': 'InternalServerErrorException' },
    );
  }
}

/** Holds a request for `ms`; resolves true if the client gave up (closed the connection) first. */
function hold(res: ServerResponse, ms: number): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(false);
    }, ms);
    res.once('close', onClose);
  });
}

export function createManagementApi(props: ManagementApiProps): RequestHandler {
  const { gateway } = props;
  const log = props.log ?? silentLog;
  return async (req, res) => {
    const connectionId = connectionIdFromPath(pathOf(req.url), gateway.stage);
    if (connectionId === undefined) return false;
    const method = req.method ?? 'GET';

    // GET and DELETE carry no body; drain anything sent so the socket stays usable (keep-alive).
    const { body, tooLarge } = await readBody(req, method === 'POST' ? MAX_MESSAGE_BYTES : 0);
    if (method === 'POST' && tooLarge) {
      sendJson(
        res,
        413,
        { message: `Message too long. Max message size is ${MAX_MESSAGE_BYTES} bytes` },
        { 'x-amzn-ErrorType': 'PayloadTooLargeException' },
      );
      return true;
    }

    if (props.quota && !props.quota.take()) {
      faultAnswer(res, 429);
      return true;
    }

    const { faults } = props;
    // The sweep GETs every connection each period: its checks are played and recorded only when a
    // rule names GET, so that they do not interleave with the record of a connection's posts.
    const fault = faults?.decide(connectionId, method);
    if (faults && (method !== 'GET' || fault)) {
      let outcome: RequestOutcome = 'passed';
      if (fault && 'answer' in fault) {
        if (fault.answer === 410 && method === 'POST') props.onPost?.(connectionId, body, false);
        faults.record(connectionId, `${fault.answer}`);
        faultAnswer(res, fault.answer);
        return true;
      }
      if (fault) {
        if (await hold(res, fault.holdMs)) {
          // The client timed out: this request is never processed.
          faults.record(connectionId, 'timeout:abandoned');
          res.destroy();
          return true;
        }
        outcome = 'timeout';
      }
      if (method === 'POST' && !faults.allowPost(body)) {
        faults.record(connectionId, 'crashed');
        sendJson(
          res,
          403,
          { message: 'local fault: the invocation that sent this request has crashed' },
          { 'x-amzn-ErrorType': 'ForbiddenException' },
        );
        return true;
      }
      faults.record(connectionId, outcome);
    }

    if (method === 'POST') {
      if (!(await gateway.post(connectionId, body))) {
        log.debug(`POST @connections/${connectionId}: 410 Gone`);
        props.onPost?.(connectionId, body, false);
        gone(res);
        return true;
      }
      props.onPost?.(connectionId, body, true);
      send(res, 200);
      return true;
    }

    const connection = gateway.connections.get(connectionId);
    if (connection?.state !== 'open') {
      gone(res);
      return true;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.identity.sourceIp, userAgent: connection.identity.userAgent ?? '' },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
      return true;
    }
    if (req.method === 'DELETE') {
      // API Gateway closes with 1000 and reports "Connection Closed Normally" to `$disconnect`.
      gateway.closeConnection(connectionId, 1000);
      send(res, 204);
      return true;
    }
    sendJson(res, 405, { message: `Method ${req.method} is not allowed on @connections` });
    return true;
  };
}
