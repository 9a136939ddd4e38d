/**
 * The local stack's front door (PROTOCOL §1): every request and every WebSocket upgrade on the
 * one local port passes here before any service sees it.
 *
 * - `Host` must be a loopback name or address (`127.0.0.0/8`, `localhost`, `[::1]`, any port).
 *   A page whose DNS name was rebound to 127.0.0.1 sends its own name and is refused: listening
 *   on loopback keeps other machines out, not the browser on this one.
 * - A request carrying an `Origin` other than the console's own (`http://` + a loopback name +
 *   this port) is refused: browsers send `Origin` on cross-origin requests, so a page elsewhere
 *   cannot post frames to `@connections` or events to `PutEvents`, not even the "simple"
 *   `text/plain` POSTs that need no preflight. The SDKs send no `Origin` and are not affected.
 *   Two kinds of request are left to the rules AWS applies to them: the HTTP API's routes (the
 *   token exchange, whose CORS allow-list decides, see `emulator/http-api.ts`) and WebSocket upgrades
 *   (`$connect` checks `Origin` against `SWITCHBOARD_ALLOWED_ORIGINS`, as on AWS).
 *
 * Refusals are a 403 with API Gateway's `{"message": …}` body, before any body is read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isLoopbackHost, pathOf } from './http-io.js';

export interface RequestGuardProps {
  /** Paths whose cross-origin calls CORS governs rather than this guard (the token exchange). */
  readonly corsPaths: readonly string[];
}

export interface RequestGuard {
  /** Answers 403 and returns true when `req` must not reach any service. */
  refuseRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Writes a 403 on the socket and returns true when the upgrade must not reach the gateway. */
  refuseUpgrade(req: IncomingMessage, socket: Duplex): boolean;
}

export const HOST_REFUSED =
  'The local stack answers only requests addressed to a loopback name (127.0.0.1, localhost or [::1]).';
export const ORIGIN_REFUSED =
  'Cross-origin requests are refused: only the local console may call this endpoint from a browser.';

/** True when `origin` is `http://{loopback name}:{port}`: a page the local stack itself served. */
export function isOwnOrigin(origin: string, port: number | undefined): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    // `Origin: null` (sandboxed frames, file: pages) and anything malformed.
    return false;
  }
  return (
    url.protocol === 'http:' &&
    url.origin === origin &&
    isLoopbackHost(url.host) &&
    Number(url.port || 80) === port
  );
}

/** Why `req` is refused, or undefined. `checkOrigin` is false for upgrades and CORS paths. */
function refusal(req: IncomingMessage, checkOrigin: boolean): string | undefined {
  if (!isLoopbackHost(req.headers.host)) return HOST_REFUSED;
  const origin = req.headers.origin;
  if (checkOrigin && origin !== undefined && !isOwnOrigin(origin, req.socket.localPort))
    return ORIGIN_REFUSED;
  return undefined;
}

export function createRequestGuard(props: RequestGuardProps): RequestGuard {
  const corsPaths = new Set(props.corsPaths);
  return {
    refuseRequest(req, res) {
      const message = refusal(req, !corsPaths.has(pathOf(req.url)));
      if (message === undefined) return false;
      const body = JSON.stringify({ message });
      res.writeHead(403, {
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(body)),
        Connection: 'close',
      });
      res.end(body);
      return true;
    },
    refuseUpgrade(req, socket) {
      const message = refusal(req, false);
      if (message === undefined) return false;
      const body = JSON.stringify({ message });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return true;
    },
  };
}
