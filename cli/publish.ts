/**
 * `npm run publish -- --channel C [--channel D] --type T --data '{...}' [--tenant X]`
 * publishes through the EventBridge API with the real SDK client: to the local stack by default
 * (`http://127.0.0.1:$SWITCHBOARD_PORT`), or to AWS with `--aws` (default credentials and region).
 * Besides channels, an event may be addressed as PROTOCOL §6 allows: `--user U` (every connection
 * of that user), `--connection-id ID` (one connection) or `--broadcast` (every connection).
 */

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CLI_ENV } from '../adapters/settings-table.js';
import { CHANNEL_PATTERN } from '../core/protocol.js';
import { commandLine, HELP_OPTION, refuse } from './args.js';
import { clientConfig, explainFailure } from './aws-target.js';
import { cliSettingsOrRefuse, localEndpoint } from './settings.js';

const usage =
  "usage: npm run publish -- (--channel <name> [--channel <name> ...] | --user <id> | --connection-id <id> | --broadcast) --type <event_type> [--data '<json>'] [--tenant <t>] [--source <s>] [--bus <name>] [--endpoint <url> | --aws]";

function fail(message: string): never {
  return refuse(usage, message);
}

const values = commandLine(usage, {
  channel: { type: 'string', multiple: true },
  user: { type: 'string' },
  'connection-id': { type: 'string' },
  broadcast: { type: 'boolean', default: false },
  type: { type: 'string' },
  data: { type: 'string', default: 'null' },
  tenant: { type: 'string' },
  source: { type: 'string', default: 'switchboard.cli' },
  bus: { type: 'string' },
  endpoint: { type: 'string' },
  aws: { type: 'boolean', default: false },
  ...HELP_OPTION,
});
const channels = values.channel ?? [];
const user = values.user;
const connectionId = values['connection-id'];
if (channels.length === 0 && user === undefined && connectionId === undefined && !values.broadcast) {
  fail('give --channel, --user, --connection-id or --broadcast');
}
const bad = channels.find((c) => !CHANNEL_PATTERN.test(c));
if (bad !== undefined) fail(`channel "${bad}" must match [A-Za-z0-9_.:@-]{1,128}`);
// A user id becomes the channel user:{id}, so it keeps to the channel grammar (PROTOCOL §6).
if (user !== undefined && !CHANNEL_PATTERN.test(`user:${user}`)) {
  fail(`--user "${user}" must be 1-123 characters of [A-Za-z0-9_.:@-]`);
}
if (connectionId !== undefined && (connectionId === '' || connectionId.length > 128)) {
  fail('--connection-id must be 1 to 128 characters');
}
if (!values.type) fail('--type is required');
let data: unknown;
try {
  data = JSON.parse(values.data);
} catch {
  fail(`--data must be JSON, got ${values.data}`);
}

// On AWS the stack has a bus of its own (output EventBusName): nothing listens on the table's
// default (`default`) unless the stack was deployed with it, so the bus is never guessed there.
const local = values.aws ? undefined : cliSettingsOrRefuse(usage);
const bus =
  values.bus ?? (local ? local.eventBusName : process.env[CLI_ENV.eventBusName]?.trim() || undefined);
if (bus === undefined) fail("--aws needs --bus <name>: the stack's EventBusName output");
const endpoint = local ? (values.endpoint ?? localEndpoint(local)) : undefined;
const client = new EventBridgeClient(clientConfig(endpoint));
const detail = {
  ...(channels.length === 1 ? { channel: channels[0] } : channels.length > 1 ? { channels } : {}),
  ...(user !== undefined ? { user } : {}),
  ...(connectionId !== undefined ? { connection_id: connectionId } : {}),
  ...(values.broadcast ? { broadcast: true } : {}),
  data,
  ...(values.tenant ? { tenant: values.tenant } : {}),
};
try {
  const result = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: values.source,
          DetailType: values.type,
          Detail: JSON.stringify(detail),
          EventBusName: bus,
        },
      ],
    }),
  );
  const entry = result.Entries?.[0];
  if (result.FailedEntryCount || !entry?.EventId) {
    fail(`PutEvents refused the entry: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`);
  }
  const to = [
    ...channels,
    ...(user !== undefined ? [`user:${user}`] : []),
    ...(connectionId !== undefined ? [`connection:${connectionId}`] : []),
    ...(values.broadcast ? ['broadcast'] : []),
  ];
  process.stdout.write(`published ${entry.EventId} to ${to.join(', ')}\n`);
} catch (error) {
  fail(explainFailure(endpoint, 'PutEvents', error));
}
