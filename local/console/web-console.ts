/**
 * The local stack's browser console, beside the emulated AWS APIs on the same port. Local only:
 * nothing here is deployed, and the CDK stack has no equivalent.
 *
 * - `GET /` the test client page, `GET /admin` the dashboard, `GET /assets/*` their scripts
 *   (the SDK bundled by esbuild at start, see `web-assets.ts`) and stylesheet;
 * - `POST /local/token` mints a token with the local HS256 secret, as `npm run token` does;
 * - `GET /admin/api/state` and `GET /admin/api/stream` (Server-Sent Events) give the dashboard its
 *   data. Both need `Authorization: Bearer <jwt>`, checked by the handlers' own verifier, and the
 *   `admin` role: 401 and 403 otherwise. As with the `stats` action, an admin inside a tenant sees
 *   that tenant only; a platform admin (no tenant) sees everything.
 *
 * The token and admin routes answer only requests addressed to a loopback name (`Host:
 * 127.0.0.1`, `localhost`): a web page cannot rebind its own DNS name to 127.0.0.1 to read them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { type ChannelRule, isAdmin, policyNames } from '../../core/channel-policy.js';
import { bearerToken, type Identity, TokenRejectedError, type TokenVerifier } from '../../core/identity.js';
import type { ConnectionStore, LiveConnection, PresenceStore } from '../../core/ports.js';
import { CHANNEL_PATTERN } from '../../core/protocol.js';
import { isWildcard } from '../../core/wildcards.js';
import type { GatewayConnection } from '../emulator/websocket-gateway.js';
import { isLoopbackHost, pathOf, type RequestHandler, readBody, send, sendJson } from '../http-io.js';
import { type LocalLog, silentLog } from '../log.js';
import type { LocalActivity } from './activity.js';
import {
  type ConsoleErrorBody,
  DASHBOARD_PRESENCE_MEMBERS,
  type DashboardChannel,
  type DashboardConnection,
  type DashboardState,
} from './dashboard-state.js';
import type { WebAssets } from './web-assets.js';

/** What `POST /local/token` signs with; absent when the stack verifies JWKS tokens only. */
export interface TokenMinting {
  readonly sign: (identity: Omit<Identity, 'anonymous'>, ttlSeconds: number) => Promise<string>;
  readonly maxLifetimeSeconds: number;
}

export interface WebConsoleProps {
  /** The pages and scripts, being built (a failed build is answered with its message). */
  readonly assets: Promise<WebAssets>;
  /** The handlers' verifier (same configuration), for the admin routes. */
  readonly verifier: TokenVerifier;
  /** @default none: `POST /local/token` answers 501 */
  readonly minting?: TokenMinting;
  /** The gateway's connections: which are open. */
  readonly connections: () => ReadonlyMap<string, GatewayConnection>;
  /** The table, read as the handlers read it. */
  readonly store: Pick<ConnectionStore, 'getConnection' | 'liveConnections'>;
  /** Presence as the handlers keep it, and the channels the presence policy names. @default none shown */
  readonly presence?: {
    readonly store: Pick<PresenceStore, 'members'>;
    readonly policy: readonly ChannelRule[];
  };
  readonly activity: LocalActivity;
  /** Longest wait between a change and the dashboards hearing of it. @default 100 */
  readonly pushDelayMs?: number;
  /** @default silent */
  readonly log?: LocalLog;
}

export interface WebConsole {
  readonly handle: RequestHandler;
  /** Ends the dashboards' streams and stops the timers. Idempotent. */
  close(): void;
}

const PAGE_HEADERS = {
  // The pages load only their own scripts and styles; they may connect to any WebSocket or HTTP
  // endpoint (a deployed stack's too), never run inline script.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self' ws: wss: http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
const API_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
const KEEPALIVE_MS = 15_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_MINT_BODY_BYTES = 16 * 1024;

const mintRequestSchema = z
  .object({
    sub: z.string().trim().min(1).max(256),
    roles: z.array(z.string().trim().min(1).max(64)).max(50).default([]),
    tenant: z.string().regex(CHANNEL_PATTERN, 'must match [A-Za-z0-9_.:@-]{1,128}').optional(),
    email: z.string().max(320).optional(),
    ttlSeconds: z.number().int().min(1).default(3600),
  })
  .strict();

function refuse(res: ServerResponse, status: number, code: string, message: string, headers = {}): void {
  const body: ConsoleErrorBody = { success: false, error: { code, message } };
  sendJson(res, status, body, { ...API_HEADERS, ...headers });
}

type Viewer = { readonly identity: Identity; readonly expiresAt: number };

/** The admin behind a request's bearer token, or the refusal already written. */
async function admin(req: IncomingMessage, res: ServerResponse, verifier: TokenVerifier) {
  const bearer = bearerToken(req.headers.authorization);
  const unauthorized = (message: string) =>
    refuse(res, 401, 'unauthorized', message, { 'www-authenticate': 'Bearer' });
  if (!bearer) {
    unauthorized('send an admin token as "Authorization: Bearer <jwt>"');
    return undefined;
  }
  let verified: Viewer;
  try {
    verified = await verifier.verify(bearer);
  } catch (error) {
    // Only the refusal is reported: never the token or why its claims failed.
    if (!(error instanceof TokenRejectedError)) throw error;
    unauthorized('token is missing, invalid or expired');
    return undefined;
  }
  if (!isAdmin(verified.identity)) {
    refuse(res, 403, 'forbidden', 'the dashboard requires a token with the admin role');
    return undefined;
  }
  return verified;
}

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

function connectionRow(record: LiveConnection, socket: GatewayConnection | undefined): DashboardConnection {
  const { identity } = record;
  const open = socket?.state === 'open';
  return {
    connectionId: record.connectionId,
    status: open ? 'open' : 'stale',
    userId: identity.userId,
    ...(identity.email ? { email: identity.email } : {}),
    roles: identity.roles,
    ...(identity.tenant ? { tenant: identity.tenant } : {}),
    anonymous: identity.anonymous,
    connectedAt: iso(record.connectedAt),
    tokenExpiresAt: iso(record.tokenExpiresAt),
    ...(open ? { lastActiveAt: new Date(socket.lastActiveAt).toISOString() } : {}),
    ...(open ? { sourceIp: socket.identity.sourceIp } : {}),
    channels: [...record.channels].sort(),
  };
}

/** Builds the dashboard's state from the table (as the handlers wrote it) and the gateway. */
export async function dashboardState(
  props: Pick<WebConsoleProps, 'connections' | 'store' | 'activity' | 'presence'>,
  viewer: Viewer,
): Promise<DashboardState> {
  const scope = viewer.identity.tenant ?? null;
  const inScope = (tenant: string | undefined) => scope === null || tenant === scope;
  const now = Math.floor(Date.now() / 1000);
  const sockets = new Map([...props.connections()].filter(([, c]) => c.state === 'open'));
  const records = new Map<string, LiveConnection>();
  // The registered connections in view, from the live index: the viewer's tenant only (O(tenant)
  // reads, as the `stats` action), or every tenant's for a platform admin...
  for await (const record of props.store.liveConnections(scope, now))
    records.set(record.connectionId, record);
  // ...and, for a platform admin, the open sockets without one (unregistered, or just removed).
  const missing = scope === null ? [...sockets.keys()].filter((id) => !records.has(id)) : [];
  for (const record of await Promise.all(missing.map((id) => props.store.getConnection(id, now)))) {
    if (record) records.set(record.connectionId, record);
  }

  const rows: DashboardConnection[] = [];
  for (const record of records.values()) {
    if (inScope(record.identity.tenant)) rows.push(connectionRow(record, sockets.get(record.connectionId)));
  }
  if (scope === null) {
    for (const socket of sockets.values()) {
      if (records.has(socket.connectionId)) continue;
      rows.push({
        connectionId: socket.connectionId,
        status: 'unregistered',
        roles: [],
        anonymous: false,
        connectedAt: new Date(socket.connectedAt).toISOString(),
        lastActiveAt: new Date(socket.lastActiveAt).toISOString(),
        sourceIp: socket.identity.sourceIp,
        channels: [],
      });
    }
  }
  rows.sort(
    (a, b) =>
      Number(b.status === 'open') - Number(a.status === 'open') || b.connectedAt.localeCompare(a.connectedAt),
  );

  const channels = new Map<string, { tenant: string | undefined; channel: string; subscribers: number }>();
  let subscriptions = 0;
  for (const row of rows) {
    if (row.status !== 'open') continue;
    for (const channel of row.channels) {
      subscriptions += 1;
      const key = `${row.tenant ?? ''}#${channel}`;
      const entry = channels.get(key) ?? { tenant: row.tenant, channel, subscribers: 0 };
      entry.subscribers += 1;
      channels.set(key, entry);
    }
  }
  const presence = props.presence;
  const channelRows: DashboardChannel[] = await Promise.all(
    [...channels.values()]
      .sort((a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel))
      .map(async ({ tenant, channel, subscribers }) => {
        const row = { ...(tenant ? { tenant } : {}), channel, subscribers };
        if (!presence || isWildcard(channel) || !policyNames(presence.policy, channel)) return row;
        const { count, members } = await presence.store.members(
          tenant,
          channel,
          now,
          DASHBOARD_PRESENCE_MEMBERS,
        );
        return { ...row, presence: { count, members } };
      }),
  );

  const events = props.activity
    .recent()
    .filter((event) => inScope(event.tenant))
    .map(({ receivedAt, tenant, ...event }) => ({
      ...event,
      receivedAt: new Date(receivedAt).toISOString(),
      ...(tenant ? { tenant } : {}),
    }));

  const { identity } = viewer;
  return {
    generatedAt: new Date().toISOString(),
    viewer: {
      userId: identity.userId,
      ...(identity.tenant ? { tenant: identity.tenant } : {}),
      expiresAt: iso(viewer.expiresAt),
    },
    totals: {
      connections: rows.filter((row) => row.status === 'open').length,
      subscriptions,
      channels: channelRows.length,
      events: events.length,
    },
    connections: rows,
    channels: channelRows,
    events,
  };
}

interface Stream {
  readonly res: ServerResponse;
  readonly viewer: Viewer;
  readonly timers: NodeJS.Timeout[];
}

export function createWebConsole(props: WebConsoleProps): WebConsole {
  const log = props.log ?? silentLog;
  const pushDelayMs = props.pushDelayMs ?? 100;
  const streams = new Set<Stream>();
  let pushTimer: NodeJS.Timeout | undefined;
  let pushing: Promise<void> | undefined;
  let dirty = false;
  let closed = false;
  // A failed build must not stop the stack (the WebSocket API works without pages): it is reported
  // once here, and on every page request.
  const assets = props.assets.then(
    (built) => built,
    (error: unknown) => {
      log.warn(`the browser pages could not be built: ${error instanceof Error ? error.message : error}`);
      return error instanceof Error ? error : new Error(String(error));
    },
  );

  function write(stream: Stream, event: string, data: unknown): void {
    if (!stream.res.writableEnded) stream.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  function end(stream: Stream): void {
    if (!streams.delete(stream)) return;
    for (const timer of stream.timers) clearTimeout(timer);
    if (!stream.res.writableEnded) stream.res.end();
  }

  /** Sends every stream the current state, computed once per tenant scope. */
  async function push(): Promise<void> {
    const states = new Map<string, Promise<DashboardState>>();
    await Promise.all(
      [...streams].map(async (stream) => {
        const key = `${stream.viewer.identity.tenant ?? ''}#${stream.viewer.identity.userId}`;
        let state = states.get(key);
        if (!state) {
          state = dashboardState(props, stream.viewer);
          states.set(key, state);
        }
        try {
          write(stream, 'state', await state);
        } catch (error) {
          // The table may be going away at shutdown; the next change pushes again.
          log.debug(`dashboard state failed: ${error instanceof Error ? error.message : error}`);
        }
      }),
    );
  }

  /** Coalesces bursts of changes into one push, and never runs two at once. */
  function schedulePush(): void {
    if (closed || streams.size === 0) return;
    if (pushing) {
      dirty = true;
      return;
    }
    pushTimer ??= setTimeout(() => {
      pushTimer = undefined;
      pushing = push().finally(() => {
        pushing = undefined;
        if (dirty) {
          dirty = false;
          schedulePush();
        }
      });
    }, pushDelayMs);
  }
  const unlisten = props.activity.onChange(schedulePush);

  async function serveAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const built = await assets;
    if (built instanceof Error) {
      if (path !== '/' && path !== '/admin' && !path.startsWith('/assets/')) return false;
      send(res, 503, `The local stack could not build its pages:\n\n${built.message}\n`, {
        'content-type': 'text/plain; charset=utf-8',
      });
      return true;
    }
    const asset = built.get(path);
    if (!asset) return false;
    await readBody(req, 0);
    const headers = { 'content-type': asset.contentType, ...PAGE_HEADERS };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
      res.end();
    } else send(res, 200, asset.body, headers);
    return true;
  }

  async function mint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { minting } = props;
    const contentType = req.headers['content-type'] ?? '';
    // JSON only: a cross-site form cannot send it without a CORS preflight, which is never granted.
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      await readBody(req, 0);
      return refuse(res, 415, 'invalid_request', 'send a JSON body (content-type: application/json)');
    }
    const { body, tooLarge } = await readBody(req, MAX_MINT_BODY_BYTES);
    if (tooLarge) return refuse(res, 413, 'invalid_request', 'the body is too large');
    if (!minting) {
      return refuse(
        res,
        501,
        'not_available',
        'this local stack verifies tokens with SWITCHBOARD_AUTH_JWKS_URL only; get one from your identity provider',
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(res, 400, 'invalid_request', 'the body is not valid JSON');
    }
    const parsed = mintRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || 'body';
      return refuse(res, 400, 'invalid_request', `${where}: ${issue?.message ?? 'invalid'}`);
    }
    const { sub, roles, tenant, email, ttlSeconds } = parsed.data;
    if (ttlSeconds > minting.maxLifetimeSeconds) {
      return refuse(
        res,
        400,
        'invalid_request',
        `ttlSeconds: at most ${minting.maxLifetimeSeconds} (SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS), got ${ttlSeconds}`,
      );
    }
    const token = await minting.sign(
      { userId: sub, roles, ...(tenant ? { tenant } : {}), ...(email ? { email } : {}) },
      ttlSeconds,
    );
    sendJson(res, 200, { success: true, data: { token, expires_in: ttlSeconds } }, API_HEADERS);
  }

  async function openStream(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const viewer = await admin(req, res, props.verifier);
    if (!viewer || closed) {
      if (!res.headersSent) refuse(res, 503, 'unavailable', 'the local stack is stopping');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    // Lets the browser reconnect quickly if the stream drops.
    res.write('retry: 2000\n\n');
    const stream: Stream = { res, viewer, timers: [] };
    streams.add(stream);
    res.on('close', () => end(stream));
    // Comment lines keep idle proxies and the browser from giving up on a quiet stream.
    const keepalive = setInterval(() => {
      if (!res.writableEnded) res.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    stream.timers.push(keepalive);
    // The token authorised the stream until it expires, not longer.
    const expiresInMs = Math.min(MAX_TIMER_MS, Math.max(0, viewer.expiresAt * 1000 - Date.now()));
    stream.timers.push(
      setTimeout(() => {
        write(stream, 'expired', { message: 'the token expired; sign in again' });
        end(stream);
      }, expiresInMs),
    );
    try {
      write(stream, 'state', await dashboardState(props, viewer));
    } catch (error) {
      log.error('dashboard state failed', error);
      end(stream);
    }
  }

  const handle: RequestHandler = async (req, res) => {
    const path = pathOf(req.url);
    const method = req.method ?? 'GET';
    const isApi = path.startsWith('/admin/api/') || path === '/local/token';
    if (!isApi) {
      if (method !== 'GET' && method !== 'HEAD') return false;
      return serveAsset(req, res, path === '/admin/' ? '/admin' : path);
    }
    if (!isLoopbackHost(req.headers.host)) {
      await readBody(req, 0);
      refuse(res, 403, 'forbidden', 'the local console answers requests to 127.0.0.1 or localhost only');
      return true;
    }
    if (path === '/local/token' && method === 'POST') {
      await mint(req, res);
      return true;
    }
    await readBody(req, 0);
    if (method !== (path === '/local/token' ? 'POST' : 'GET')) {
      refuse(res, 405, 'invalid_request', `${method} is not allowed on ${path}`);
      return true;
    }
    if (path === '/admin/api/state') {
      const viewer = await admin(req, res, props.verifier);
      if (viewer) sendJson(res, 200, await dashboardState(props, viewer), API_HEADERS);
      return true;
    }
    if (path === '/admin/api/stream') {
      await openStream(req, res);
      return true;
    }
    refuse(res, 404, 'not_found', `no console route ${path}`);
    return true;
  };

  return {
    handle,
    close() {
      if (closed) return;
      closed = true;
      unlisten();
      clearTimeout(pushTimer);
      for (const stream of [...streams]) end(stream);
    },
  };
}
