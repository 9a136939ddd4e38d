/**
 * The settings the commands of `cli/` read (the rows the settings table marks `readBy: cli`): each
 * variable's name, default and range come from the table (`adapters/settings-table.ts`), read as
 * the local stack reads them (`readSetting`), so `npm run publish` finds the stack on the port
 * `npm start` listens on and `npm run token` never mints a token the handlers would refuse.
 */
import { SETTINGS } from '../adapters/settings-table.js';
import { LocalStackError } from '../local/errors.js';
import { readSetting } from '../local/local-settings.js';
import { refuse } from './args.js';

export interface CliSettings {
  /** `SWITCHBOARD_PORT`: the local stack's one port. */
  readonly port: number;
  /** `SWITCHBOARD_EVENT_BUS_NAME`: the bus local `PutEvents` accepts. */
  readonly eventBusName: string;
  /** `SWITCHBOARD_AUTH_ISSUER` / `_AUDIENCE`: the claims the handlers require, if set. */
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** `SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS`: the longest token lifetime the handlers accept. */
  readonly maxTokenLifetimeSeconds: number;
  /** `SWITCHBOARD_TOKEN`: the token `npm run listen` connects with, if set. */
  readonly token: string | undefined;
}

/** The commands' settings from `env`; throws `LocalStackError` naming a bad variable and its value. */
export function cliSettings(env: NodeJS.ProcessEnv): CliSettings {
  const S = SETTINGS;
  return {
    port: readSetting(S.port, env),
    eventBusName: readSetting(S.eventBusName, env),
    issuer: readSetting(S.authIssuer, env),
    audience: readSetting(S.authAudience, env),
    maxTokenLifetimeSeconds: readSetting(S.authMaxTokenLifetimeSeconds, env),
    token: readSetting(S.cliToken, env),
  };
}

/** `cliSettings(process.env)`, or the command refused (exit code 2) with the bad variable named. */
export function cliSettingsOrRefuse(usage: string): CliSettings {
  try {
    return cliSettings(process.env);
  } catch (error) {
    if (error instanceof LocalStackError) return refuse(usage, error.message);
    throw error;
  }
}

/** The local stack's one port: `http://127.0.0.1:$SWITCHBOARD_PORT`. */
export function localEndpoint(settings: Pick<CliSettings, 'port'>): string {
  return `http://127.0.0.1:${settings.port}`;
}
