/**
 * `npm run listen -- --channel C [--channel D] [--since N] [--sub alice] [--roles a,b] [--tenant acme]
 * [--url ws://…] [--token T] [--pretty]` watches channels from a terminal through the client SDK
 * (Node's `ws` as its WebSocket): one JSON line per event on stdout, so it pipes into `jq` or a file;
 * `--pretty` prints one readable line instead. Connection news and errors go to stderr. The SDK
 * reconnects, resubscribes and recovers what was missed (`since`); Ctrl-C (SIGINT) or SIGTERM closes
 * the connection and exits with code 0.
 *
 * Locally (the default URL is `ws://127.0.0.1:$SWITCHBOARD_PORT/ws`) it mints a token as
 * `npm run token` does; against AWS give `--url wss://…/ws --token <jwt>` (or `SWITCHBOARD_TOKEN`).
 * Exit codes: 0 after a signal, 1 when the client stops on an error, 2 on bad arguments.
 */
import WebSocket from 'ws';
import { signToken } from '../adapters/token-verifier.js';
import { type Client, createClient, type EventMessage, SwitchboardError } from '../client/index.js';
import { CHANNEL_PATTERN } from '../core/protocol.js';
import { localAuthSecret } from '../local/local-secret.js';
import { commandLine, HELP_OPTION, refuse } from './args.js';

const usage =
  'usage: npm run listen -- --channel <name> [--channel <name> ...] [--since <seq>] [--sub <user>] [--roles a,b] [--tenant <t>] [--url <ws://…|wss://…>] [--token <jwt>] [--pretty]';

function fail(message: string): never {
  return refuse(usage, message);
}

const values = commandLine(usage, {
  channel: { type: 'string', multiple: true },
  since: { type: 'string' },
  sub: { type: 'string', default: 'listen-cli' },
  roles: { type: 'string' },
  tenant: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  pretty: { type: 'boolean', default: false },
  ...HELP_OPTION,
});

const channels = values.channel ?? [];
if (channels.length === 0) fail('--channel is required');
const bad = channels.find((c) => !CHANNEL_PATTERN.test(c) && !/^[A-Za-z0-9_.:@-]{0,127}[:.]\*$/.test(c));
if (bad !== undefined) fail(`channel "${bad}" must match [A-Za-z0-9_.:@-]{1,128} (or end in :* or .*)`);
const since = values.since === undefined ? undefined : Number(values.since);
if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) {
  fail(`--since must be a seq (a non-negative integer), got "${values.since}"`);
}
if (values.tenant !== undefined && !CHANNEL_PATTERN.test(values.tenant)) {
  fail(`--tenant must match [A-Za-z0-9_.:@-]{1,128}, got "${values.tenant}"`);
}
const url = values.url ?? `ws://127.0.0.1:${process.env.SWITCHBOARD_PORT ?? '8080'}/ws`;
if (!URL.canParse(url) || !/^wss?:$/.test(new URL(url).protocol)) {
  fail(`--url must be a ws:// or wss:// URL, got "${url}"`);
}
const given = values.token ?? process.env.SWITCHBOARD_TOKEN?.trim();
const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
// A locally minted token is signed with the local secret: a deployed stack would refuse it.
if (!given && !local) fail(`--url ${url} is not the local stack: give --token (or SWITCHBOARD_TOKEN)`);

async function mintLocalToken(): Promise<string> {
  const roles = (values.roles ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  return signToken({
    secret: localAuthSecret(),
    identity: { userId: values.sub, roles, ...(values.tenant ? { tenant: values.tenant } : {}) },
    ttlSeconds: 3600,
    ...(process.env.SWITCHBOARD_AUTH_ISSUER ? { issuer: process.env.SWITCHBOARD_AUTH_ISSUER } : {}),
    ...(process.env.SWITCHBOARD_AUTH_AUDIENCE ? { audience: process.env.SWITCHBOARD_AUTH_AUDIENCE } : {}),
  });
}

const note = (message: string) => process.stderr.write(`listen: ${message}\n`);

function print(event: EventMessage): void {
  if (!values.pretty) {
    process.stdout.write(`${JSON.stringify(event)}\n`);
    return;
  }
  const seq = event.seq === undefined ? '' : ` #${event.seq}`;
  const sender = event.sender ? ` from ${event.sender.userId}` : '';
  process.stdout.write(
    `${event.timestamp}  ${event.channel}${seq}  ${event.event_type}${sender}  ${JSON.stringify(event.data)}\n`,
  );
}

const client: Client = createClient({
  url,
  // Called before every (re)connection: a minted token is fresh each time, so reconnecting never
  // stops on an expired one.
  token: given ?? mintLocalToken,
  WebSocket,
});

let stopping = false;
client.on('open', ({ reconnected }) => note(reconnected ? 'reconnected' : `connected to ${url}`));
client.on('reconnecting', ({ attempt, delayMs, error }) =>
  note(`${error.message}; retry ${attempt} in ${delayMs} ms`),
);
client.on('gap', ({ channel, reason, lastSeq, seq }) =>
  note(`${channel}: events after #${lastSeq} up to #${seq} may be missing (${reason})`),
);
client.on('error', (error) => note(`${error.code}: ${error.message}`));
client.on('closed', ({ error }) => {
  if (stopping) return;
  note(error ? `stopped: ${error.code}: ${error.message}` : 'closed');
  process.exit(error ? 1 : 0);
});

for (const channel of channels) {
  client.subscribe(channel, print, since === undefined ? {} : { since }).then(
    () => note(`subscribed to ${channel}${since === undefined ? '' : ` after #${since}`}`),
    (error: unknown) =>
      note(
        `could not subscribe to ${channel}: ${error instanceof SwitchboardError ? `${error.code}: ` : ''}${(error as Error).message}`,
      ),
  );
}

function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  note(`${signal}: closing`);
  client.close();
  // stdout may still be flushing into a pipe: exit once it has drained.
  process.stdout.write('', () => process.exit(0));
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
