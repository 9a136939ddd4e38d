/**
 * `npm run token -- --sub alice [--roles admin,ops] [--tenant acme] [--email a@x] [--ttl 3600]`
 * prints an HS256 token that the local stack accepts (signed with the local secret, or with
 * `SWITCHBOARD_AUTH_SECRET` when set), honouring `SWITCHBOARD_AUTH_ISSUER`/`_AUDIENCE`.
 */
import { signToken } from '../adapters/token-verifier.js';
import { CHANNEL_PATTERN } from '../core/protocol.js';
import { localAuthSecret } from '../local/local-secret.js';
import { commandLine, HELP_OPTION, refuse } from './args.js';
import { cliSettingsOrRefuse } from './settings.js';

const usage = 'usage: npm run token -- --sub <user> [--roles a,b] [--tenant t] [--email e] [--ttl seconds]';

function fail(message: string): never {
  return refuse(usage, message);
}

const values = commandLine(usage, {
  sub: { type: 'string' },
  roles: { type: 'string' },
  role: { type: 'string' },
  tenant: { type: 'string' },
  email: { type: 'string' },
  ttl: { type: 'string', default: '3600' },
  ...HELP_OPTION,
});
const sub = values.sub;
if (typeof sub !== 'string' || sub === '') fail('--sub is required');
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0)
  fail(`--ttl must be a positive number of seconds, got "${values.ttl}"`);
// The handlers refuse a token living longer than SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS
// (read with the table's default and range, as the handlers read it).
const settings = cliSettingsOrRefuse(usage);
const maxLifetime = settings.maxTokenLifetimeSeconds;
if (ttl > maxLifetime) fail(`--ttl ${ttl} exceeds the accepted token lifetime (${maxLifetime} s)`);
const tenant = typeof values.tenant === 'string' ? values.tenant : undefined;
if (tenant !== undefined && !CHANNEL_PATTERN.test(tenant))
  fail(`--tenant must match [A-Za-z0-9_.:@-]{1,128}, got "${tenant}"`);
const rolesArg = [values.roles, values.role].filter((v): v is string => typeof v === 'string').join(',');
const roles = rolesArg
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean);

const token = await signToken({
  secret: localAuthSecret(),
  identity: {
    userId: sub,
    roles,
    ...(tenant ? { tenant } : {}),
    ...(typeof values.email === 'string' ? { email: values.email } : {}),
  },
  ttlSeconds: ttl,
  ...(settings.issuer ? { issuer: settings.issuer } : {}),
  ...(settings.audience ? { audience: settings.audience } : {}),
});
process.stdout.write(`${token}\n`);
