/**
 * The test client page (`/` on the local stack): connect with a token, subscribe to channels and
 * watch events arrive. Everything goes through the client SDK, served to the page as
 * `/assets/client.js` (see `local/console/web-assets.ts`), so the page behaves as an application does:
 * reconnection, resubscription, ordering and deduplication are the SDK's.
 */
import {
  type Client,
  type ClientState,
  createClient,
  type EventMessage,
  type Subscription,
  type TokenTransport,
} from '../client/index.js';
import { $, clockTime, describe, el, list, mintLocalToken } from './ui.js';

const MAX_EVENTS = 200;
const MAX_LOG_LINES = 200;
const SAVED = 'switchboard.test-page';

const ui = {
  state: $('#state'),
  connectForm: $<HTMLFormElement>('#connect-form'),
  url: $<HTMLInputElement>('#url'),
  token: $<HTMLTextAreaElement>('#token'),
  transport: $<HTMLSelectElement>('#transport'),
  disconnect: $<HTMLButtonElement>('#disconnect'),
  mintButton: $<HTMLButtonElement>('#mint-button'),
  mintSub: $<HTMLInputElement>('#mint-sub'),
  mintRoles: $<HTMLInputElement>('#mint-roles'),
  mintTenant: $<HTMLInputElement>('#mint-tenant'),
  identity: $('#identity'),
  connectionId: $('#connection-id'),
  user: $('#user'),
  expires: $('#expires'),
  subscribeForm: $<HTMLFormElement>('#subscribe-form'),
  channel: $<HTMLInputElement>('#channel'),
  channels: $('#channels'),
  publishForm: $<HTMLFormElement>('#publish-form'),
  publishChannel: $<HTMLInputElement>('#publish-channel'),
  publishType: $<HTMLInputElement>('#publish-type'),
  publishData: $<HTMLTextAreaElement>('#publish-data'),
  publishButton: $<HTMLButtonElement>('#publish'),
  publishResult: $('#publish-result'),
  ping: $<HTMLButtonElement>('#ping'),
  pingResult: $('#ping-result'),
  events: $('#events'),
  eventCount: $('#event-count'),
  clearEvents: $<HTMLButtonElement>('#clear-events'),
  log: $('#log'),
  clearLog: $<HTMLButtonElement>('#clear-log'),
};

type PageState = ClientState | 'idle';
type ChannelStatus = 'waiting' | 'subscribing' | 'subscribed' | 'failed';

interface WantedChannel {
  status: ChannelStatus;
  detail: string;
  subscription: Subscription | undefined;
  /** Who is here, on a presence channel (PROTOCOL §8): user ids, kept live by join/leave notices. */
  members?: Set<string>;
}

let client: Client | undefined;
let eventCount = 0;
/** Channels the user asked for, kept across Disconnect / Connect. */
const wanted = new Map<string, WantedChannel>();

// --- Ping ------------------------------------------------------------------------------------
//
// The SDK keeps its connection alive on its own (a one-way keepalive every heartbeatIntervalMs) and
// has no ping method. To show a round trip, the
// page gives the SDK a WebSocket class (its documented `WebSocket` option) that remembers the
// current socket and lets the page see the frames: the page's ping goes out on the SDK's
// connection, and its `pong` comes back there.

const tap: { socket: WebSocket | undefined } = { socket: undefined };
const pings = new Map<string, number>();
let pingCounter = 0;

class TappedWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    tap.socket = this;
    this.addEventListener('message', (event) => onFrame(event.data));
  }
}

function onFrame(data: unknown): void {
  if (typeof data !== 'string' || !(data.includes('"pong"') || data.includes('"subscribed"'))) return;
  let frame: { type?: unknown; id?: unknown; channel?: unknown };
  try {
    frame = JSON.parse(data) as typeof frame;
  } catch {
    return;
  }
  // A resubscription after a reconnection is confirmed here: the SDK keeps it to itself.
  if (frame.type === 'subscribed' && typeof frame.channel === 'string') {
    if (wanted.get(frame.channel)?.subscription) setChannel(frame.channel, 'subscribed');
    return;
  }
  if (frame.type !== 'pong' || typeof frame.id !== 'string') return;
  const sentAt = pings.get(frame.id);
  if (sentAt === undefined) return;
  pings.delete(frame.id);
  const ms = Math.round(performance.now() - sentAt);
  ui.pingResult.textContent = `pong in ${ms} ms`;
  ui.pingResult.className = 'ok';
  log('info', `pong (${frame.id}) in ${ms} ms`);
}

function sendPing(): void {
  const socket = tap.socket;
  if (client?.state !== 'open' || socket?.readyState !== WebSocket.OPEN) {
    log('warn', 'not connected: nothing to ping');
    return;
  }
  pingCounter += 1;
  const id = `page-ping-${pingCounter}`;
  pings.set(id, performance.now());
  socket.send(JSON.stringify({ action: 'ping', id }));
  ui.pingResult.textContent = 'ping sent…';
  ui.pingResult.className = 'muted';
}

// --- Log and state ---------------------------------------------------------------------------

function log(level: 'info' | 'warn' | 'error', message: string): void {
  ui.log.prepend(
    el('li', { class: `log-${level}` }, el('time', {}, clockTime(Date.now())), el('span', {}, message)),
  );
  while (ui.log.childElementCount > MAX_LOG_LINES) ui.log.lastElementChild?.remove();
}

const STATE_TEXT: Record<PageState, string> = {
  idle: 'not connected',
  connecting: 'connecting',
  open: 'open',
  reconnecting: 'reconnecting',
  closed: 'closed',
};

function showState(state: PageState, detail = ''): void {
  ui.state.dataset.state = state;
  ui.state.textContent = detail ? `${STATE_TEXT[state]} · ${detail}` : STATE_TEXT[state];
  const live = state === 'connecting' || state === 'open' || state === 'reconnecting';
  ui.disconnect.disabled = !live;
  ui.ping.disabled = state !== 'open';
  ui.publishButton.disabled = state !== 'open';
  if (state !== 'open') ui.identity.classList.add('dim');
}

async function showIdentity(current: Client): Promise<void> {
  try {
    const me = await current.whoami();
    if (current !== client) return;
    ui.identity.hidden = false;
    ui.identity.classList.remove('dim');
    ui.connectionId.textContent = me.connectionId;
    const { user } = me;
    const extras = [
      user.roles.length > 0 ? `roles ${user.roles.join(', ')}` : '',
      user.tenant ? `tenant ${user.tenant}` : '',
    ].filter(Boolean);
    ui.user.textContent = extras.length > 0 ? `${user.userId} (${extras.join('; ')})` : user.userId;
    ui.expires.textContent = new Date(me.expiresAt).toLocaleString();
  } catch (error) {
    log('warn', `whoami failed: ${describe(error)}`);
  }
}

// --- Channels --------------------------------------------------------------------------------

function renderChannels(): void {
  if (wanted.size === 0) {
    ui.channels.replaceChildren(el('li', { class: 'empty' }, 'No channels yet.'));
    return;
  }
  ui.channels.replaceChildren(
    ...[...wanted].map(([channel, entry]) => {
      const remove = el('button', { class: 'ghost small', attrs: { type: 'button' } }, 'Unsubscribe');
      remove.addEventListener('click', () => void unsubscribe(channel));
      return el(
        'li',
        { data: { channel, status: entry.status } },
        el('span', { class: 'chip' }, channel),
        el('span', { class: `status status-${entry.status}`, title: entry.detail }, entry.status),
        entry.members
          ? el(
              'span',
              { class: 'muted small', data: { testid: 'members' } },
              `${entry.members.size} here: ${[...entry.members].sort().join(', ')}`,
            )
          : null,
        remove,
      );
    }),
  );
}

function setChannel(channel: string, status: ChannelStatus, detail = ''): void {
  const entry = wanted.get(channel);
  if (!entry) return;
  entry.status = status;
  entry.detail = detail;
  renderChannels();
}

function subscribe(channel: string): void {
  const current = client;
  const entry: WantedChannel = wanted.get(channel) ?? {
    status: 'waiting',
    detail: '',
    subscription: undefined,
  };
  wanted.set(channel, entry);
  if (!current || current.state === 'closed') {
    setChannel(channel, 'waiting', 'subscribed when you connect');
    return;
  }
  if (entry.subscription) return;
  const subscription = current.subscribe(channel, (event) => showEvent(event));
  entry.subscription = subscription;
  setChannel(channel, 'subscribing');
  subscription.then(
    () => {
      if (wanted.get(channel)?.subscription !== subscription) return;
      setChannel(channel, 'subscribed');
      void showPresence(current, channel);
    },
    (error: unknown) => {
      // The SDK reports the failure through its `error` event too, which logs it.
      if (wanted.get(channel)?.subscription !== subscription) return;
      entry.subscription = undefined;
      setChannel(channel, 'failed', describe(error));
    },
  );
}

/** Asks who is in `channel`; a channel without presence answers invalid_request and shows none. */
async function showPresence(current: Client, channel: string): Promise<void> {
  try {
    const { members, truncated, count } = await current.presence(channel);
    const entry = wanted.get(channel);
    if (!entry || current !== client) return;
    entry.members = new Set(members.map((m) => m.userId));
    if (truncated) log('info', `${channel}: ${count} members, the first ${members.length} shown`);
    renderChannels();
  } catch {
    // Not a presence channel (or no longer subscribed): nothing to show.
  }
}

function onPresenceNotice(channel: string, userId: string, joined: boolean): void {
  const members = wanted.get(channel)?.members;
  if (!members) return;
  if (joined) members.add(userId);
  else members.delete(userId);
  log('info', `${userId} ${joined ? 'joined' : 'left'} ${channel}`);
  renderChannels();
}

async function unsubscribe(channel: string): Promise<void> {
  const entry = wanted.get(channel);
  wanted.delete(channel);
  renderChannels();
  save();
  try {
    await entry?.subscription?.unsubscribe();
    if (entry?.subscription) log('info', `unsubscribed from ${channel}`);
  } catch (error) {
    log('warn', `unsubscribe ${channel}: ${describe(error)}`);
  }
}

// --- Events ----------------------------------------------------------------------------------

function showEvent(event: EventMessage): void {
  if (eventCount === 0) ui.events.replaceChildren();
  eventCount += 1;
  ui.eventCount.textContent = String(eventCount);
  const seq = (event as { seq?: unknown }).seq;
  ui.events.prepend(
    el(
      'li',
      { class: 'event', data: { eventId: event.id, channel: event.channel, eventType: event.event_type } },
      el(
        'div',
        { class: 'event-head' },
        el('span', { class: 'chip' }, event.channel),
        el('strong', { class: 'event-type' }, event.event_type),
        typeof seq === 'number'
          ? el('span', { class: 'badge', data: { testid: 'seq' } }, `seq ${seq}`)
          : null,
        event.sender
          ? el('span', { class: 'muted small', data: { testid: 'sender' } }, `from ${event.sender.userId}`)
          : null,
        el('time', { title: event.timestamp }, clockTime(event.timestamp)),
      ),
      el('div', { class: 'mono small muted', title: 'event id' }, event.id),
      el('pre', { class: 'data' }, JSON.stringify(event.data, null, 2) ?? 'undefined'),
    ),
  );
  while (ui.events.childElementCount > MAX_EVENTS) ui.events.lastElementChild?.remove();
}

function clearEvents(): void {
  eventCount = 0;
  ui.eventCount.textContent = '0';
  ui.events.replaceChildren(
    el('li', { class: 'empty' }, 'Events on your channels appear here, newest first.'),
  );
}

// --- Connecting ------------------------------------------------------------------------------

function connect(): void {
  disconnect(false);
  const token = ui.token.value.trim();
  let created: Client;
  try {
    created = createClient({
      url: ui.url.value.trim(),
      ...(token ? { token } : {}),
      tokenTransport: ui.transport.value as TokenTransport,
      WebSocket: TappedWebSocket,
    });
  } catch (error) {
    log('error', describe(error));
    return;
  }
  client = created;
  save();
  showState('connecting');
  created.on('connecting', () => log('info', `connecting to ${ui.url.value.trim()}`));
  created.on('open', ({ reconnected }) => {
    showState('open');
    log('info', reconnected ? 'reconnected; channels resubscribed' : 'connection open');
    // Notices sent while disconnected are gone: ask again who is here.
    if (reconnected)
      for (const [channel, entry] of wanted) if (entry.members) void showPresence(created, channel);
    void showIdentity(created);
  });
  created.on('reconnecting', ({ attempt, delayMs, error }) => {
    showState('reconnecting', `attempt ${attempt}`);
    log('warn', `${error.message}; reconnecting (attempt ${attempt}) in ${delayMs} ms`);
    for (const [channel, entry] of wanted) if (entry.subscription) setChannel(channel, 'subscribing');
  });
  created.on('closed', ({ error }) => {
    if (client === created) client = undefined;
    tap.socket = undefined;
    showState('closed');
    log(error ? 'error' : 'info', error ? `closed: ${describe(error)}` : 'closed');
    for (const entry of wanted.values()) entry.subscription = undefined;
    for (const channel of wanted.keys()) setChannel(channel, 'waiting', 'subscribed when you connect');
  });
  created.on('error', (error) =>
    log('error', error.channel ? `${describe(error)} (${error.channel})` : describe(error)),
  );
  // Broadcasts and messages to this user or connection arrive without a subscription.
  created.on('direct', (event) => showEvent(event));
  created.on('presence_join', ({ channel, user }) => onPresenceNotice(channel, user.userId, true));
  created.on('presence_leave', ({ channel, user }) => onPresenceNotice(channel, user.userId, false));
  created.on('gap', ({ channel, reason, lastSeq, seq }) =>
    log('warn', `events of ${channel} may be missing after seq ${lastSeq} up to ${seq} (${reason})`),
  );
  for (const channel of wanted.keys()) subscribe(channel);
}

function disconnect(byUser: boolean): void {
  const current = client;
  if (!current) return;
  client = undefined;
  current.close();
  if (byUser) showState('closed');
}

// --- Publish ---------------------------------------------------------------------------------

async function publishFromForm(): Promise<void> {
  const current = client;
  if (!current) return;
  let data: unknown;
  try {
    data = JSON.parse(ui.publishData.value);
  } catch (error) {
    ui.publishResult.textContent = `data is not JSON: ${describe(error)}`;
    return;
  }
  const channel = ui.publishChannel.value.trim();
  const eventType = ui.publishType.value.trim();
  ui.publishButton.disabled = true;
  try {
    const { eventId } = await current.publish(channel, data, eventType ? { eventType } : {});
    ui.publishResult.textContent = `Published ${eventId}`;
    log('info', `published ${eventId} to ${channel}`);
  } catch (error) {
    ui.publishResult.textContent = `Refused: ${describe(error)}`;
    log('error', `publish to ${channel}: ${describe(error)}`);
  } finally {
    ui.publishButton.disabled = current !== client || current.state !== 'open';
  }
}

// --- Forms and saved settings ----------------------------------------------------------------

interface Saved {
  readonly url?: string;
  readonly token?: string;
  readonly transport?: string;
  readonly channels?: string[];
}

function save(): void {
  const saved: Saved = {
    url: ui.url.value,
    token: ui.token.value,
    transport: ui.transport.value,
    channels: [...wanted.keys()],
  };
  sessionStorage.setItem(SAVED, JSON.stringify(saved));
}

function restore(): void {
  let saved: Saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(SAVED) ?? '{}') as Saved;
  } catch {
    // A damaged entry: start afresh.
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  ui.url.value = saved.url || `${scheme}://${location.host}/ws`;
  ui.token.value = saved.token ?? '';
  if (saved.transport === 'query' || saved.transport === 'protocol') ui.transport.value = saved.transport;
  for (const channel of saved.channels ?? []) {
    wanted.set(channel, {
      status: 'waiting',
      detail: 'subscribed when you connect',
      subscription: undefined,
    });
  }
  renderChannels();
}

async function mint(): Promise<void> {
  ui.mintButton.disabled = true;
  try {
    const tenant = ui.mintTenant.value.trim();
    const sub = ui.mintSub.value.trim();
    const { token, expiresIn } = await mintLocalToken({
      sub,
      roles: list(ui.mintRoles.value),
      ...(tenant ? { tenant } : {}),
    });
    ui.token.value = token;
    save();
    log('info', `minted a local token for ${sub} (valid ${expiresIn} s)`);
  } catch (error) {
    log('error', `mint failed: ${describe(error)}`);
  } finally {
    ui.mintButton.disabled = false;
  }
}

ui.connectForm.addEventListener('submit', (event) => {
  event.preventDefault();
  connect();
});
ui.disconnect.addEventListener('click', () => disconnect(true));
ui.mintButton.addEventListener('click', () => void mint());
ui.subscribeForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const channel = ui.channel.value.trim();
  if (!channel) return;
  ui.channel.value = '';
  subscribe(channel);
  save();
});
ui.ping.addEventListener('click', sendPing);
ui.publishForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void publishFromForm();
});
ui.clearEvents.addEventListener('click', clearEvents);
ui.clearLog.addEventListener('click', () => ui.log.replaceChildren());

restore();
showState('idle');
