/** Small request/response helpers shared by the local HTTP services. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Handles a request when it is one of its service's; resolves false to let other services try. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * Reads a request body, keeping at most `limit + 1` bytes so an oversized body is detected without
 * buffering all of it. The rest is drained so the client still gets its answer.
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<{ body: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (size > limit) continue;
    chunks.push(chunk);
    size += chunk.length;
  }
  const body = Buffer.concat(chunks);
  return size > limit ? { body: body.subarray(0, limit + 1), tooLarge: true } : { body, tooLarge: false };
}

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer = '',
  headers: Record<string, string | string[]> = {},
): void {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'Content-Length': String(payload.length) });
  res.end(payload);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON.stringify(value), { 'Content-Type': 'application/json', ...headers });
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0] ?? '/';
}

/** `localhost`, an address of 127.0.0.0/8 in canonical dotted form, or `[::1]`; any port. */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[::1\])(?::\d{1,5})?$/i;

/**
 * True when a request was addressed to a loopback name (`Host: 127.0.0.1`, any 127.x.y.z,
 * `localhost`, `[::1]`, with any port). The local stack answers nothing else (see
 * `request-guard.ts`): a web page cannot rebind its own DNS name to 127.0.0.1 to reach it.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}
