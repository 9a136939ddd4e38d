/**
 * The `@connections` API of the local WebSocket API (`/{stage}/@connections/{connectionId}`),
 * answering on the wire like API Gateway so the real `@aws-sdk/client-apigatewaymanagementapi`
 * behaves as on AWS: a closed or unknown connection is 410 with `x-amzn-ErrorType:
 * GoneException`, which the SDK raises as `GoneException`. Signatures are not verified.
 */
import type { ServerResponse } from 'node:http';
import { pathOf, type RequestHandler, readBody, send, sendJson } from './http-io.js';
import { type LocalLog, silentLog } from './log.js';
import { MAX_MESSAGE_BYTES, type WebSocketGateway } from './websocket-gateway.js';

export interface ManagementApiProps {
  readonly gateway: WebSocketGateway;
  /**
   * Told about every `POST` with its body and whether it reached the connection (false: 410 Gone),
   * so the local dashboard can count deliveries per event. @default none
   */
  readonly onPost?: (connectionId: string, body: Buffer, delivered: boolean) => void;
  /** @default silent */
  readonly log?: LocalLog;
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

export function createManagementApi(props: ManagementApiProps): RequestHandler {
  const { gateway } = props;
  const log = props.log ?? silentLog;
  return async (req, res) => {
    const connectionId = connectionIdFromPath(pathOf(req.url), gateway.stage);
    if (connectionId === undefined) return false;

    if (req.method === 'POST') {
      const { body, tooLarge } = await readBody(req, MAX_MESSAGE_BYTES);
      if (tooLarge) {
        sendJson(
          res,
          413,
          { message: `Message too long. Max message size is ${MAX_MESSAGE_BYTES} bytes` },
          { 'x-amzn-ErrorType': 'PayloadTooLargeException' },
        );
        return true;
      }
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

    // GET and DELETE carry no body; drain anything sent so the socket stays usable (keep-alive).
    await readBody(req, 0);
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
