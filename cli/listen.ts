/**
 * `npm run listen -- --channel C [--channel D] [--since N] [--sub alice] [--roles a,b] [--tenant acme]
 * [--url ws://…] [--token T] [--pretty]` watches channels from a terminal through the client SDK
 * (Node's `ws` as its WebSocket): one JSON line per event on stdout, so it pipes into `jq` or a file;
 * `--pretty` prints one readable line instead, control characters escaped. Connection news and
 * errors go to stderr. The SDK reconnects, resubscribes and recovers what was missed (`since`);
 * Ctrl-C (SIGINT) or SIGTERM closes the connection and exits with code 0, and so does a closed
 * stdout (`| head -1`).
 *
 * Locally (the default URL is `ws://127.0.0.1:$SWITCHBOARD_PORT/ws`) it mints a token as
 * `npm run token` does; against AWS give `--url wss://…/ws --token <jwt>` (or `SWITCHBOARD_TOKEN`).
 * Exit codes: 0 after a signal or a closed stdout, 1 when the client stops on an error or every
 * subscription is refused, 2 on bad arguments (cli/listen-options.ts).
 */
import WebSocket from 'ws';
import { SETTINGS } from '../adapters/settings-table.js';
import { signToken } from '../adapters/token-verifier.js';
import { type Client, createClient, type EventMessage, SwitchboardError } from '../client/index.js';
import { localAuthSecret } from '../local/local-secret.js';
import { commandLine, HELP_OPTION, refuse } from './args.js';
import {
  checkListenFlags,
  DEFAULT_LISTEN_SUB,
  type ListenIdentityOptions,
  ListenOptionsError,
  printable,
} from './listen-options.js';
import { cliSettingsOrRefuse } from './settings.js';

const usage =
  'usage: npm run listen -- --channel <name> [--channel <name> ...] [--since <seq>] [--sub <user>] [--roles a,b] [--tenant <t>] [--url <ws://…|wss://…>] [--token <jwt>] [--pretty]';

function fail(message: string): never {
  return refuse(usage, message);
}

const values = commandLine(usage, {
  channel: { type: 'string', multiple: true },
  since: { type: 'string' },
  sub: { type: 'string' },
  roles: { type: 'string' },
  tenant: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  pretty: { type: 'boolean', default: false },
  ...HELP_OPTION,
});

const settings = cliSettingsOrRefuse(usage);
const given = values.token ?? settings.token;
const tokenSource =
  values.token !== undefined ? '--token' : given !== undefined ? 'SWITCHBOARD_TOKEN' : undefined;
let options: ListenIdentityOptions;
try {
  options = checkListenFlags(values, tokenSource);
} catch (error) {
  if (!(error instanceof ListenOptionsError)) throw error;
  fail(error.message);
}
const { channels, since, identity } = options;
// `npm start` serves the table's default stage (it has no variable for another).
const url = values.url ?? `ws://127.0.0.1:${settings.port}/${SETTINGS.stageName.default}`;
if (!URL.canParse(url) || !/^wss?:$/.test(new URL(url).protocol)) {
  fail(`--url must be a ws:// or wss:// URL, got "${url}"`);
}
const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
// A locally minted token is signed with the local secret: a deployed stack would refuse it.
if (!given && !local) fail(`--url ${url} is not the local stack: give --token (or SWITCHBOARD_TOKEN)`);

async function mintLocalToken(): Promise<string> {
  return signToken({
    secret: localAuthSecret(),
    identity: { roles: [], ...identity, userId: identity?.userId ?? DEFAULT_LISTEN_SUB },
    // An hour, or less where the handlers accept no token that long.
    ttlSeconds: Math.min(3600, settings.maxTokenLifetimeSeconds),
    ...(settings.issuer ? { issuer: settings.issuer } : {}),
    ...(settings.audience ? { audience: settings.audience } : {}),
  });
}

const note = (message: string) => process.stderr.write(`listen: ${message}\n`);

function print(event: EventMessage): void {
  if (!values.pretty) {
    // JSON.stringify escapes every C0 control character: a JSON line cannot drive a terminal.
    process.stdout.write(`${JSON.stringify(event)}\n`);
    return;
  }
  const seq = event.seq === undefined ? '' : ` #${event.seq}`;
  const sender = event.sender ? ` from ${event.sender.userId}` : '';
  // Every field is the publisher's: escape what a terminal would act on (ESC, BEL, C1, bidi).
  const line = `${event.timestamp}  ${event.channel}${seq}  ${event.event_type}${sender}  ${JSON.stringify(event.data)}`;
  process.stdout.write(`${printable(line)}\n`);
}

const client: Client = createClient({
  url,
  // Called before every (re)connection: a minted token is fresh each time, so reconnecting never
  // stops on an expired one.
  token: given ?? mintLocalToken,
  WebSocket,
});

let stopping = false;

/** Closes the connection and exits with `code` once stdout has drained into its pipe. */
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  client.close();
  process.stdout.write('', () => process.exit(code));
}

// A reader that went away (`listen … | head -1`) ends listen quietly with 0, as Unix tools end on
// SIGPIPE (Node ignores SIGPIPE, so the write fails with EPIPE instead).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stopping = true;
  client.close();
  process.exit(0);
});

/** Channels whose first `subscribe` has not settled: their refusal is printed by that promise. */
const pending = new Set(channels);
let refused = 0;

client.on('open', ({ reconnected }) => note(reconnected ? 'reconnected' : `connected to ${url}`));
client.on('reconnecting', ({ attempt, delayMs, error }) =>
  note(`${error.message}; retry ${attempt} in ${delayMs} ms`),
);
client.on('gap', ({ channel, reason, lastSeq, seq }) =>
  note(`${channel}: events after #${lastSeq} up to #${seq} may be missing (${reason})`),
);
client.on('error', (error) => {
  // The SDK also emits a refused subscribe here; its rejected promise prints it (below).
  if (error.channel !== undefined && pending.has(error.channel)) return;
  note(`${error.code}: ${error.message}`);
});
client.on('closed', ({ error }) => {
  if (stopping) return;
  note(error ? `stopped: ${error.code}: ${error.message}` : 'closed');
  stop(error ? 1 : 0);
});

for (const channel of channels) {
  client.subscribe(channel, print, since === undefined ? {} : { since }).then(
    () => {
      pending.delete(channel);
      note(`subscribed to ${channel}${since === undefined ? '' : ` after #${since}`}`);
    },
    (error: unknown) => {
      pending.delete(channel);
      const code = error instanceof SwitchboardError ? error.code : undefined;
      note(`could not subscribe to ${channel}: ${code ? `${code}: ` : ''}${(error as Error).message}`);
      // A timeout leaves the subscription wanted (the SDK sends it again); any other error is final.
      if (code === 'timeout') return;
      refused += 1;
      if (refused === channels.length && !stopping) {
        note('every subscription was refused: stopping');
        stop(1);
      }
    },
  );
}

function onSignal(signal: string): void {
  if (stopping) return;
  note(`${signal}: closing`);
  stop(0);
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
