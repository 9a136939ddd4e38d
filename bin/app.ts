/**
 * The CDK app: reads the deploy-time values from CDK context (`cdk deploy -c key=value`, or the
 * `context` of cdk.json) and builds the stack. Context is read here and nowhere else; the stack
 * and its constructs take typed props.
 *
 * Every deployment runs the AWS Solutions checks of cdk-nag: a finding that is not acknowledged
 * (with its reason, next to the resource) fails the synth.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Node } from 'constructs';
// The construct package's entry (`@switchboard/cdk`, built from lib/index.ts): this app is its
// first user and reaches nothing in lib/ that a user of the package could not.
import {
  SETTING_DOCS,
  SETTING_ROWS,
  SETTINGS,
  type SwitchboardApiProps,
  SwitchboardStack,
} from '../lib/index.js';

/** A context row of the settings table, by its `kind`. */
type ContextRow = (typeof SETTING_ROWS)[number] & { readonly context: string };

const CONTEXT_ROWS = SETTING_ROWS.filter((row): row is ContextRow => row.context !== undefined);

/** What a row's default is, in words, for `CONTEXT_KEYS` and errors. */
const defaultOf = (row: ContextRow) =>
  SETTING_DOCS[row.name].defaultText ?? (row.default !== undefined ? String(row.default) : undefined);

/** Every context key this app reads, with what it sets (from `adapters/settings-table.ts`). */
export const CONTEXT_KEYS: Readonly<Record<string, string>> = Object.fromEntries(
  CONTEXT_ROWS.map((row) => {
    const fallback = defaultOf(row);
    const { doc } = SETTING_DOCS[row.name];
    return [row.context, fallback === undefined ? doc : `${doc} (default ${fallback})`];
  }),
);

export type ContextKey = string;

export class ContextError extends Error {
  override readonly name = 'ContextError';
}

const LOG_RETENTION_DAYS = new Set(
  Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number'),
);

/** Typed access to the context values this app reads; each message names the key and the value. */
export class SwitchboardContext {
  constructor(private readonly node: Node) {}

  private raw(key: ContextKey): unknown {
    const value: unknown = this.node.tryGetContext(key);
    return value === '' ? undefined : value;
  }

  private fail(key: ContextKey, requirement: string, value: unknown): never {
    throw new ContextError(`context ${key}: ${requirement} (received ${JSON.stringify(value)})`);
  }

  string(key: ContextKey): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(key, 'must be a string', value);
    return value.trim();
  }

  list(key: ContextKey): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
    if (typeof value !== 'string') this.fail(key, 'must be a comma-separated list', value);
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  boolean(key: ContextKey): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(key, 'must be true or false', value);
  }

  number(key: ContextKey): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const n =
      typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
    if (!Number.isFinite(n)) this.fail(key, 'must be a number', value);
    return n;
  }

  json(key: ContextKey): unknown {
    const value = this.raw(key);
    if (value === undefined || typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      return this.fail(key, 'must be JSON', value);
    }
  }
}

/** Sets `value` at a prop path (`rateLimit.burst`), creating the objects on the way. */
function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[last] = value;
}

/**
 * IAM matches the complete ARN (with Secrets Manager's 6-character suffix); a partial one would
 * deploy fine and then fail every GetSecretValue with AccessDenied.
 */
const COMPLETE_SECRET_ARN = /^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/** A context value as its prop takes it: typed, and existing resources imported into `stack`. */
function contextValue(ctx: SwitchboardContext, row: ContextRow, stack: Stack): unknown {
  const key = row.context;
  const fail = (requirement: string, value: unknown): never => {
    throw new ContextError(`context ${key}: ${requirement} (received ${JSON.stringify(value)})`);
  };
  switch (row.kind) {
    case 'integer':
    case 'number':
      return ctx.number(key);
    case 'seconds':
    case 'minutes': {
      const n = ctx.number(key);
      if (n === undefined) return undefined;
      return row.kind === 'seconds' ? Duration.seconds(n) : Duration.minutes(n);
    }
    case 'boolean':
      return ctx.boolean(key);
    case 'flag':
      return ctx.boolean(key) ? {} : undefined;
    case 'list':
      return ctx.list(key);
    case 'json': {
      const value = ctx.json(key);
      // The rules and values inside are checked by SwitchboardApi.
      if (value === undefined) return undefined;
      if (row.json === 'array' && !Array.isArray(value)) fail('must be a JSON array', value);
      if (row.json === 'object' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
        fail('must be a JSON object', value);
      }
      return value;
    }
    case 'logRetentionDays': {
      const days = ctx.number(key);
      if (days !== undefined && !LOG_RETENTION_DAYS.has(days)) {
        throw new ContextError(
          `context ${key}: must be one of ${[...LOG_RETENTION_DAYS].join(', ')} (received ${days})`,
        );
      }
      return days;
    }
    case 'removalPolicy': {
      const policy = ctx.string(key);
      if (policy === undefined) return undefined;
      if (policy !== 'retain' && policy !== 'destroy') fail('must be retain or destroy', policy);
      return policy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    }
    case 'secretArn': {
      const arn = ctx.string(key);
      if (arn === undefined) return undefined;
      if (!COMPLETE_SECRET_ARN.test(arn)) {
        fail(
          'must be the complete secret ARN, ending in -XXXXXX (aws secretsmanager describe-secret shows it)',
          arn,
        );
      }
      return Secret.fromSecretCompleteArn(stack, 'ImportedAuthSecret', arn);
    }
    case 'eventBus': {
      const bus = ctx.string(key);
      if (bus === undefined) return undefined;
      return bus.startsWith('arn:')
        ? EventBus.fromEventBusArn(stack, 'ImportedEventBus', bus)
        : EventBus.fromEventBusName(stack, 'ImportedEventBus', bus);
    }
    case 'certificateArn': {
      const arn = ctx.string(key);
      return arn === undefined
        ? undefined
        : Certificate.fromCertificateArn(stack, 'ImportedCertificate', arn);
    }
    case 'topicArn': {
      const arn = ctx.string(key);
      return arn === undefined ? undefined : Topic.fromTopicArn(stack, 'ImportedAlarmTopic', arn);
    }
    default:
      return ctx.string(key);
  }
}

/**
 * Builds the `SwitchboardApi` props from context, importing existing resources into `stack`:
 * each context key of the settings table sets its prop. Values are checked by `SwitchboardApi`.
 */
export function switchboardPropsFromContext(stack: Stack, node: Node): SwitchboardApiProps {
  const ctx = new SwitchboardContext(node);
  const domainName = ctx.string(SETTINGS.domainName.context);
  const certificateArn = ctx.string(SETTINGS.certificateArn.context);
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new ContextError(
      `context domainName and certificateArn: give both or neither (received domainName=${JSON.stringify(domainName)}, certificateArn=${JSON.stringify(certificateArn)})`,
    );
  }
  const props: Record<string, unknown> = {};
  for (const row of CONTEXT_ROWS) {
    if (row.prop === undefined) continue;
    const value = contextValue(ctx, row, stack);
    if (value !== undefined) setAt(props, row.prop, value);
  }
  return props as SwitchboardApiProps;
}

/** Builds the app: the stack from context, with the cdk-nag AWS Solutions checks. */
export function buildApp(app: App = new App()): { app: App; stack: SwitchboardStack } {
  const stackName =
    new SwitchboardContext(app.node).string(SETTINGS.stackName.context) ?? SETTINGS.stackName.default;
  const stack = new SwitchboardStack(app, stackName, {
    switchboard: (scope) => switchboardPropsFromContext(scope, app.node),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** True when this file is the program being run (`npx tsx bin/app.ts`), not a module a test imports. */
function isMainModule(): boolean {
  try {
    return (
      process.argv[1] !== undefined &&
      realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

if (isMainModule()) buildApp().app.synth();
