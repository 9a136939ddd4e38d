/**
 * The live dashboard (`/admin` on the local stack). It asks for an admin token, then follows
 * `GET /admin/api/stream`: Server-Sent Events read with `fetch`, because `EventSource` cannot send
 * an `Authorization` header and the token stays out of URLs. Every change on the stack (a
 * connection, a subscription, an event, a delivery) pushes a fresh state.
 */
import type {
  DashboardChannel,
  DashboardConnection,
  DashboardEvent,
  DashboardState,
} from '../local/console/dashboard-state.js';
import { $, clockTime, describe, el, list, mintLocalToken, refusalOf, relativeTime, shortId } from './ui.js';

const TOKEN_KEY = 'switchboard.admin-token';
const MAX_RETRY_MS = 10_000;

const ui = {
  stream: $('#stream'),
  viewer: $('#viewer'),
  signOut: $<HTMLButtonElement>('#sign-out'),
  login: $<HTMLFormElement>('#login'),
  token: $<HTMLTextAreaElement>('#admin-token'),
  loginError: $('#login-error'),
  mintAdmin: $<HTMLButtonElement>('#mint-admin'),
  dashboard: $('#dashboard'),
  totalConnections: $('#total-connections'),
  totalSubscriptions: $('#total-subscriptions'),
  totalChannels: $('#total-channels'),
  totalEvents: $('#total-events'),
  connections: $('#connections'),
  channels: $('#channels'),
  events: $('#events'),
  publish: $<HTMLFormElement>('#publish'),
  publishChannels: $<HTMLInputElement>('#publish-channels'),
  publishType: $<HTMLInputElement>('#publish-type'),
  publishTenant: $<HTMLInputElement>('#publish-tenant'),
  publishSource: $<HTMLInputElement>('#publish-source'),
  publishData: $<HTMLTextAreaElement>('#publish-data'),
  publishButton: $<HTMLButtonElement>('#publish-button'),
  publishResult: $('#publish-result'),
};

type StreamState = 'idle' | 'connecting' | 'open' | 'reconnecting';

let session: AbortController | undefined;
let lastState: DashboardState | undefined;

function showStream(state: StreamState, text: string): void {
  ui.stream.dataset.state = state;
  ui.stream.textContent = text;
}

function showLogin(message?: string): void {
  session?.abort();
  session = undefined;
  lastState = undefined;
  ui.dashboard.hidden = true;
  ui.login.hidden = false;
  ui.viewer.hidden = true;
  ui.signOut.hidden = true;
  ui.loginError.hidden = message === undefined;
  ui.loginError.textContent = message ?? '';
  showStream('idle', 'signed out');
}

// --- Rendering -------------------------------------------------------------------------------

const empty = (columns: number, text: string) =>
  el('tr', { class: 'empty' }, el('td', { attrs: { colspan: String(columns) } }, text));

const chips = (names: readonly string[]) =>
  names.length === 0
    ? el('span', { class: 'muted' }, '—')
    : el('span', { class: 'chips' }, ...names.map((name) => el('span', { class: 'chip' }, name)));

function connectionRow(connection: DashboardConnection, now: number): HTMLTableRowElement {
  const user = connection.userId ?? '—';
  const roles = connection.roles.length > 0 ? connection.roles.join(', ') : '';
  return el(
    'tr',
    { data: { connectionId: connection.connectionId, status: connection.status } },
    el('td', { class: 'mono', title: connection.connectionId }, connection.connectionId),
    el(
      'td',
      {},
      el('strong', {}, connection.anonymous ? 'anonymous' : user),
      roles ? el('span', { class: 'badge subtle' }, roles) : null,
      connection.email ? el('div', { class: 'muted small' }, connection.email) : null,
    ),
    el('td', {}, connection.tenant ?? el('span', { class: 'muted' }, '—')),
    el(
      'td',
      { title: connection.connectedAt },
      relativeTime(connection.connectedAt, now),
      el('div', { class: 'muted small' }, clockTime(connection.connectedAt)),
    ),
    el('td', {}, chips(connection.channels)),
    el('td', {}, el('span', { class: `status status-${connection.status}` }, connection.status)),
  );
}

function channelRow(channel: DashboardChannel): HTMLTableRowElement {
  return el(
    'tr',
    { data: { channel: channel.channel } },
    el('td', {}, el('span', { class: 'chip' }, channel.channel)),
    el('td', {}, channel.tenant ?? el('span', { class: 'muted' }, '—')),
    el('td', { class: 'num', data: { testid: 'subscribers' } }, channel.subscribers),
    el('td', { data: { testid: 'presence' } }, presenceCell(channel)),
  );
}

/** Who is in a presence channel: the count, then the first members (`connections` when more than one). */
function presenceCell(channel: DashboardChannel): HTMLElement | string {
  if (!channel.presence) return el('span', { class: 'muted' }, '—');
  const { count, members } = channel.presence;
  const names = members.map((m) => (m.connections > 1 ? `${m.userId} (${m.connections})` : m.userId));
  const more = count > members.length ? `, +${count - members.length}` : '';
  return `${count}: ${names.join(', ')}${more}`;
}

const STATUS_TEXT: Record<DashboardEvent['status'], string> = {
  not_matched: 'no channel',
  other_bus: 'other bus',
  ignored: 'ignored (malformed)',
  publishing: 'publishing',
  published: 'published',
  failed: 'failed (DLQ)',
};

function eventRow(event: DashboardEvent): HTMLTableRowElement {
  return el(
    'tr',
    { data: { eventId: event.id, status: event.status } },
    el('td', { title: event.receivedAt }, clockTime(event.receivedAt)),
    el('td', { class: 'mono', title: event.id }, shortId(event.id)),
    el('td', {}, chips(event.channels)),
    el(
      'td',
      { title: event.dataPreview },
      el('strong', {}, event.eventType),
      el('div', { class: 'muted small ellipsis' }, `${event.source} · ${event.dataPreview || 'no data'}`),
    ),
    el('td', {}, event.tenant ?? el('span', { class: 'muted' }, '—')),
    el('td', {}, el('span', { class: `status status-${event.status}` }, STATUS_TEXT[event.status])),
    el(
      'td',
      { class: 'num' },
      el('strong', { data: { testid: 'deliveries' } }, event.deliveries),
      event.gone > 0 ? el('div', { class: 'muted small' }, `${event.gone} gone`) : null,
    ),
  );
}

function render(state: DashboardState): void {
  lastState = state;
  const now = Date.now();
  ui.login.hidden = true;
  ui.dashboard.hidden = false;
  ui.signOut.hidden = false;
  ui.viewer.hidden = false;
  ui.viewer.textContent = `${state.viewer.userId} · ${state.viewer.tenant ? `tenant ${state.viewer.tenant}` : 'all tenants'}`;
  ui.totalConnections.textContent = String(state.totals.connections);
  ui.totalSubscriptions.textContent = String(state.totals.subscriptions);
  ui.totalChannels.textContent = String(state.totals.channels);
  ui.totalEvents.textContent = String(state.totals.events);
  ui.connections.replaceChildren(
    ...(state.connections.length > 0
      ? state.connections.map((connection) => connectionRow(connection, now))
      : [empty(6, 'No connections. Open the test client to make one.')]),
  );
  ui.channels.replaceChildren(
    ...(state.channels.length > 0 ? state.channels.map(channelRow) : [empty(4, 'No subscriptions.')]),
  );
  ui.events.replaceChildren(
    ...(state.events.length > 0
      ? state.events.map(eventRow)
      : [empty(7, 'No events yet. Publish one with the form, npm run publish, or PutEvents.')]),
  );
}

// --- The stream ------------------------------------------------------------------------------

/** Reads Server-Sent Events from a response body, calling `onEvent` per complete event. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
    }
  }
}

/** Follows the stream until signed out; reconnects with growing, jittered delays when it drops. */
async function follow(token: string): Promise<void> {
  session?.abort();
  const controller = new AbortController();
  session = controller;
  let failures = 0;
  while (!controller.signal.aborted) {
    showStream(
      failures === 0 && !lastState ? 'connecting' : 'reconnecting',
      failures === 0 ? 'connecting' : 'reconnecting',
    );
    let ended: string;
    try {
      const response = await fetch('/admin/api/stream', {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
        cache: 'no-store',
      });
      if (response.status === 401 || response.status === 403) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(await refusalOf(response));
        return;
      }
      if (!response.ok || !response.body) throw new Error(await refusalOf(response));
      let expired: string | undefined;
      await readEvents(response.body, (event, data) => {
        if (event === 'state') {
          failures = 0;
          showStream('open', 'live');
          render(JSON.parse(data) as DashboardState);
        } else if (event === 'expired') {
          expired = (JSON.parse(data) as { message?: string }).message ?? 'the token expired';
        }
      });
      if (expired !== undefined) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(expired);
        return;
      }
      ended = 'the stream ended';
    } catch (error) {
      if (controller.signal.aborted) return;
      ended = describe(error);
    }
    failures += 1;
    const delay = Math.round(Math.random() * Math.min(MAX_RETRY_MS, 500 * 2 ** failures));
    showStream('reconnecting', `reconnecting (${ended})`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function open(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  ui.loginError.hidden = true;
  void follow(token);
}

// --- Publishing ------------------------------------------------------------------------------

/** PutEvents on the local bus, in EventBridge's own JSON 1.1 wire format (unsigned: it is local). */
async function publish(): Promise<void> {
  ui.publishButton.disabled = true;
  ui.publishResult.className = 'muted small';
  ui.publishResult.textContent = 'publishing…';
  try {
    const channels = list(ui.publishChannels.value);
    const raw = ui.publishData.value.trim();
    let data: unknown = null;
    if (raw !== '') {
      try {
        data = JSON.parse(raw);
      } catch {
        throw new Error('Data is not valid JSON');
      }
    }
    const tenant = ui.publishTenant.value.trim();
    const detail = {
      ...(channels.length === 1 ? { channel: channels[0] } : { channels }),
      data,
      ...(tenant ? { tenant } : {}),
    };
    const response = await fetch('/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
      body: JSON.stringify({
        Entries: [
          {
            Source: ui.publishSource.value.trim(),
            DetailType: ui.publishType.value.trim(),
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    });
    const result = (await response.json()) as {
      message?: string;
      Entries?: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
    };
    const entry = result.Entries?.[0];
    if (!response.ok || !entry?.EventId) {
      throw new Error(entry?.ErrorMessage ?? result.message ?? `HTTP ${response.status}`);
    }
    ui.publishResult.className = 'ok small';
    ui.publishResult.textContent = `Published ${entry.EventId}`;
  } catch (error) {
    ui.publishResult.className = 'error small';
    ui.publishResult.textContent = describe(error);
  } finally {
    ui.publishButton.disabled = false;
  }
}

// --- Wiring ----------------------------------------------------------------------------------

ui.login.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = ui.token.value.trim();
  if (token) open(token);
});
ui.mintAdmin.addEventListener('click', () => {
  ui.mintAdmin.disabled = true;
  mintLocalToken({ sub: 'local-admin', roles: ['admin'] })
    .then(({ token }) => {
      ui.token.value = token;
    })
    .catch((error: unknown) => {
      ui.loginError.hidden = false;
      ui.loginError.textContent = describe(error);
    })
    .finally(() => {
      ui.mintAdmin.disabled = false;
    });
});
ui.signOut.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  ui.token.value = '';
  showLogin();
});
ui.publish.addEventListener('submit', (event) => {
  event.preventDefault();
  void publish();
});
// Keeps "5 min ago" true between pushes.
setInterval(() => {
  if (lastState && !ui.dashboard.hidden) render(lastState);
}, 15_000);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  ui.token.value = saved;
  open(saved);
} else showLogin();
