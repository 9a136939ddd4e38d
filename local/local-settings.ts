/**
 * The local stack's own settings: explicit options, then the environment, then the defaults, each
 * variable's name, default and range from the settings table (`adapters/settings-table.ts`), and
 * each bad value named with what was received.
 */
import { LOCAL_STACK_ENV, SETTINGS, type Setting, STAGE_NAME } from '../adapters/settings-table.js';
import { LocalStackError } from './errors.js';
import { type FaultPlan, FaultPlanError, parseFaultPlan } from './faults/fault-plan.js';
import type { LocalStackOptions } from './local-stack.js';

/** Variables the local stack itself reads (beside the handlers' own, see `adapters/config.ts`). */
export const LOCAL_ENV = LOCAL_STACK_ENV;

export interface LocalSettings {
  readonly port: number;
  readonly dynamodbPort: number;
  readonly dynamodbEndpoint: string | undefined;
  readonly tableName: string;
  readonly stage: string;
  readonly eventBusName: string;
  readonly sweepIntervalSeconds: number;
  readonly idleTimeoutSeconds: number;
  readonly maxConnectionSeconds: number;
  readonly tokenExchangeCorsOrigins: readonly string[];
  readonly verbose: boolean;
  readonly faultInjection: boolean;
  readonly faultPlan: FaultPlan | undefined;
  readonly retryDelayMs: number;
  readonly callbackRps: number | undefined;
}

type Row = Setting & { readonly env: string };

/** What a row's kind and range accept, in words, or undefined when `raw` is accepted. */
function refusal(row: Row, raw: string): string | undefined {
  const range = `from ${row.min} to ${row.max}`;
  switch (row.kind) {
    case 'integer':
    case 'seconds': {
      const n = Number(raw);
      const ok = raw !== '' && Number.isInteger(n) && n >= (row.min ?? n) && n <= (row.max ?? n);
      return ok ? undefined : `a whole number ${range}`;
    }
    case 'number': {
      const n = Number(raw);
      const ok = raw !== '' && Number.isFinite(n) && n >= (row.min ?? n) && n <= (row.max ?? n);
      return ok ? undefined : `a number ${range}`;
    }
    case 'boolean':
      return ['0', '1', 'true', 'false'].includes(raw) ? undefined : '1 or 0 (true or false)';
    case 'url':
      return URL.canParse(raw) ? undefined : 'a URL';
    default:
      return undefined;
  }
}

function parsed(row: Row, raw: string): unknown {
  if (row.kind === 'integer' || row.kind === 'seconds' || row.kind === 'number') return Number(raw);
  if (row.kind === 'boolean') return raw === '1' || raw === 'true';
  if (row.kind === 'list') {
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }
  return raw;
}

/** The explicit option, else the row's variable, else its default. */
function read<T>(row: Row, explicit: T | undefined, env: NodeJS.ProcessEnv): T {
  if (explicit !== undefined) {
    const problem = typeof explicit === 'number' ? refusal(row, String(explicit)) : undefined;
    if (problem) throw new LocalStackError(`${row.env} must be ${problem} (got ${JSON.stringify(explicit)})`);
    return explicit;
  }
  const raw = env[row.env]?.trim();
  if (!raw) return (row.kind === 'list' ? [] : row.default) as T;
  const problem = refusal(row, raw);
  if (problem) throw new LocalStackError(`${row.env} must be ${problem} (got ${JSON.stringify(raw)})`);
  return parsed(row, raw) as T;
}

/**
 * A row's variable in `env`, parsed and checked against the row's kind and range, else the row's
 * default: how the commands of `cli/` read the settings they share with the stack. Throws
 * `LocalStackError` naming the variable and what it received.
 */
export function readSetting<T>(row: Row, env: NodeJS.ProcessEnv): T {
  return read<T>(row, undefined, env);
}

/** The plan to play from the start, from `SWITCHBOARD_LOCAL_FAULT_PLAN` (only with fault injection on). */
function initialFaultPlan(env: NodeJS.ProcessEnv, faultInjection: boolean): FaultPlan | undefined {
  const raw = env[LOCAL_ENV.localFaultPlan]?.trim();
  if (!raw) return undefined;
  if (!faultInjection) {
    throw new LocalStackError(
      `${LOCAL_ENV.localFaultPlan} is set but fault injection is off: set ${LOCAL_ENV.localFaults}=1`,
    );
  }
  try {
    return parseFaultPlan(JSON.parse(raw));
  } catch (error) {
    const reason = error instanceof FaultPlanError ? error.message : 'not valid JSON';
    throw new LocalStackError(`${LOCAL_ENV.localFaultPlan} is not a valid fault plan: ${reason}`, {
      cause: error,
    });
  }
}

/** Options, then the environment, then the defaults; each bad value named with what was received. */
export function resolveSettings(options: LocalStackOptions, env: NodeJS.ProcessEnv): LocalSettings {
  const S = SETTINGS;
  const stage = options.stage ?? S.stageName.default;
  if (!STAGE_NAME.pattern.test(stage))
    throw new LocalStackError(`stage must be ${STAGE_NAME.requirement} (got "${stage}")`);
  const faultInjection = read<boolean>(S.localFaults, options.faultInjection, env);
  return {
    port: read(S.port, options.port, env),
    dynamodbPort: read(S.dynamodbPort, options.dynamodbPort, env),
    dynamodbEndpoint: read<string | undefined>(S.dynamodbEndpoint, options.dynamodbEndpoint, env),
    tableName: read(S.tableName, options.tableName, env),
    stage,
    eventBusName: read(S.eventBusName, options.eventBusName, env),
    sweepIntervalSeconds: read(S.sweepIntervalSeconds, options.sweepIntervalSeconds, env),
    idleTimeoutSeconds: read(S.idleTimeoutSeconds, options.idleTimeoutSeconds, env),
    maxConnectionSeconds: read(S.maxConnectionSeconds, options.maxConnectionSeconds, env),
    tokenExchangeCorsOrigins: read<string[]>(S.tokenExchangeCorsOrigins, undefined, env),
    verbose: read<boolean>(S.localVerbose, undefined, env),
    faultInjection,
    faultPlan: initialFaultPlan(env, faultInjection),
    callbackRps: read<number | undefined>(S.localCallbackRps, options.callbackRps, env),
    retryDelayMs: options.retryDelayMs ?? 1000 * read<number>(S.localRetrySeconds, undefined, env),
  };
}
