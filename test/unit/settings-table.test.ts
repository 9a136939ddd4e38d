/**
 * The settings table (`adapters/settings-table.ts`) is the one definition of every setting; this
 * fails when a consumer disagrees with it: the handlers' environment schema, the construct's
 * defaults and checks, the context parsing, the environment the stack gives the handlers, the
 * local stack's settings, the source's variable names, and docs/configuration.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ENV, loadConfig } from '../../adapters/config.js';
import { HANDLER_SETTINGS } from '../../adapters/handler-settings.js';
import { SETTING_DOCS } from '../../adapters/settings-docs.js';
import { SETTING_ROWS, SETTINGS, type Setting } from '../../adapters/settings-table.js';
import { switchboardPropsFromContext } from '../../bin/app.js';
import { CONFIGURATION_DOC, configurationMarkdown, rangeOf } from '../../bin/config-docs.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../core/protocol.js';
import { HANDLERS } from '../../lambdas/handlers.js';
import { PUBLISH_PIPELINE } from '../../lambdas/publish-pipeline.js';
import { PROJECT_ROOT } from '../../lib/bundling.js';
import { handlerEnvironment, propValue } from '../../lib/handler-environment.js';
import {
  resolveSwitchboardApiProps,
  SWITCHBOARD_DEFAULTS,
  SwitchboardPropsError,
} from '../../lib/switchboard-api-props.js';
import { resolveSettings } from '../../local/local-settings.js';

const SECRET = 'a-secret-that-is-at-least-32-bytes-long';
const MINIMAL_ENV = { [ENV.tableName]: 'switchboard', [ENV.authSecret]: SECRET };
const WIRING = {
  tableName: 'table',
  callbackUrl: 'https://api.example/ws',
  authSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf',
  fanoutQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/fanout',
};

const readBy = (row: Setting, reader: string) => (row.readBy ?? []).some((r) => r === reader);
/** Settings a deployer tunes and the handlers read: they need a prop, a context key and a variable. */
const TUNABLE = SETTING_ROWS.filter((row) => readBy(row, 'handlers') && row.onAws === undefined);

/** A row's default as the resolved props hold it. */
function propDefault(row: Setting): unknown {
  if (row.kind === 'seconds') return Duration.seconds(row.default as number).toSeconds();
  if (row.kind === 'minutes') return Duration.minutes(row.default as number).toMinutes();
  if (row.kind === 'removalPolicy')
    return row.default === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  return row.default;
}

function resolvedValue(row: Setting, value: unknown): unknown {
  if (value instanceof Duration) return row.kind === 'minutes' ? value.toMinutes() : value.toSeconds();
  return value;
}

describe('the settings table', () => {
  it("keeps in the handlers' part (adapters/handler-settings.ts) exactly the rows the handlers read", () => {
    // Prepare
    const handlerRead = SETTING_ROWS.filter((row) => readBy(row, 'handlers') || readBy(row, 'publishQueue'));
    // Act
    const inHandlerPart = Object.keys(HANDLER_SETTINGS);
    // Assess: a row read by a handler but kept elsewhere would be missing from its schema; one
    // kept there but read by none would weigh on every handler's bundle for nothing.
    expect(inHandlerPart.sort()).toEqual(handlerRead.map((row) => row.name).sort());
    for (const row of handlerRead) expect(ENV[row.name as keyof typeof ENV]).toBe(row.env);
  });

  it('gives every setting a tuner reaches a prop, a context key and a variable', () => {
    expect(TUNABLE.map((row) => row.name)).toContain('publishConcurrency');
    for (const row of TUNABLE) {
      expect({ name: row.name, env: !!row.env, prop: !!row.prop, context: !!row.context }).toEqual({
        name: row.name,
        env: true,
        prop: true,
        context: true,
      });
    }
    for (const row of SETTING_ROWS) {
      if (row.prop) expect(row.context, `${row.name} has a prop but no context key`).toBeDefined();
      if (row.context && row.name !== 'stackName') expect(row.prop, row.name).toBeDefined();
      expect(SETTING_DOCS[row.name].doc.length, row.name).toBeGreaterThan(10);
    }
  });

  it('names each variable, prop and context key once', () => {
    for (const field of ['env', 'prop', 'context'] as const) {
      const values = SETTING_ROWS.flatMap((row) => (row[field] ? [row[field]] : []));
      expect(new Set(values).size, field).toBe(values.length);
    }
  });

  /** Every SWITCHBOARD_* / POWERTOOLS_* name in the .ts files under `dir`, by file. */
  function variablesUnder(dir: string): Map<string, string> {
    const found = new Map<string, string>();
    const scan = (path: string) => {
      for (const entry of readdirSync(join(PROJECT_ROOT, path), { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
        const child = join(path, entry.name);
        if (entry.isDirectory()) scan(child);
        else if (/\.(?:ts|mts|mjs)$/.test(entry.name)) {
          const text = readFileSync(join(PROJECT_ROOT, child), 'utf8');
          for (const [name] of text.matchAll(/\b(?:SWITCHBOARD|POWERTOOLS)_[A-Z_]+\b/g))
            found.set(name, child);
        }
      }
    };
    scan(dir);
    return found;
  }
  /** Names that look like variables and are not: an exported constant, a build-time placeholder. */
  const NOT_VARIABLES = new Set(['SWITCHBOARD_DEFAULTS', 'SWITCHBOARD_PREBUILT_HANDLERS__']);
  it('lists every variable the source reads', () => {
    // Prepare: every directory of source but test/ (which sets variables and defines none), so a
    // new directory is scanned without being named here.
    const dirs = readdirSync(PROJECT_ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .filter((name) => !['node_modules', 'test', 'docs'].includes(name));
    expect(dirs).toEqual(expect.arrayContaining(['cli', 'bench', 'local', 'lib']));
    // Act
    const names = new Map<string, string>();
    for (const dir of dirs) {
      for (const [name, file] of variablesUnder(dir)) if (!NOT_VARIABLES.has(name)) names.set(name, file);
    }
    // Assess
    const known = new Set(SETTING_ROWS.flatMap((row) => (row.env ? [row.env] : [])));
    expect([...names].filter(([name]) => !known.has(name))).toEqual([]);
    expect(names.has('SWITCHBOARD_TOKEN')).toBe(true);
  });

  it('marks each variable the commands of cli/ read as read by them, and they read no other way', () => {
    // Act
    const inCli = [...variablesUnder('cli').keys()];
    // Assess: the commands read their settings through cli/settings.ts (the table's rows), so a
    // row they use says so, and docs/configuration.md shows it.
    const readByCli = SETTING_ROWS.filter((row) => readBy(row, 'cli')).map((row) => row.env);
    expect(inCli.filter((name) => !readByCli.includes(name))).toEqual([]);
    for (const file of readdirSync(join(PROJECT_ROOT, 'cli'))) {
      const text = readFileSync(join(PROJECT_ROOT, 'cli', file), 'utf8');
      expect(text, file).not.toMatch(/process\.env\.(?:SWITCHBOARD|POWERTOOLS)_/);
    }
  });

  it('agrees with the constants it repeats', () => {
    expect(SETTINGS.maxMessageBytes.default).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    expect(SETTINGS.publishReservedConcurrency.default).toBe(PUBLISH_PIPELINE.reservedConcurrency);
    expect(SETTINGS.publishReservedConcurrency.default).toBe(HANDLERS.publish.reservedConcurrency);
    expect(SWITCHBOARD_DEFAULTS.routeThrottle).toEqual(
      JSON.parse((SETTING_DOCS.routeThrottle.defaultText ?? '').replaceAll('`', '')),
    );
  });
});

describe('the construct', () => {
  it("resolves each prop to the table's default", () => {
    const resolved = resolveSwitchboardApiProps({});
    const withFrontDoor = resolveSwitchboardApiProps({ frontDoor: {} });
    for (const row of SETTING_ROWS) {
      if (!row.prop || row.default === undefined || row.kind === 'flag') continue;
      // The front door's settings exist only with a front door.
      const config = row.prop.startsWith('frontDoor.') ? withFrontDoor : resolved;
      expect(resolvedValue(row, propValue(config, row.prop)), row.name).toEqual(propDefault(row));
    }
    expect(resolved.frontDoor).toBeUndefined();
  });

  it("refuses a count just outside the table's range, naming the prop", () => {
    for (const row of SETTING_ROWS) {
      if (row.kind !== 'integer' || !row.prop || row.max === undefined) continue;
      const props = {};
      let node: Record<string, unknown> = props;
      const keys = row.prop.split('.');
      for (const key of keys.slice(0, -1)) node = node[key] = {} as Record<string, unknown>;
      node[keys.at(-1) as string] = row.max + 1;
      expect(() => resolveSwitchboardApiProps(props), row.name).toThrow(SwitchboardPropsError);
      expect(() => resolveSwitchboardApiProps(props), row.name).toThrow(
        `${row.prop} must be an integer from ${row.min} to ${row.max}`,
      );
    }
  });
});

/** The interfaces of lib/switchboard-api-props.ts that hold props, with the path prefix of their props. */
const PROP_INTERFACES: Readonly<Record<string, string>> = {
  SwitchboardApiProps: '',
  SwitchboardAuthOptions: 'auth.',
  SwitchboardFrontDoorOptions: 'frontDoor.',
  SwitchboardDomainOptions: 'domain.',
  RateLimitProps: 'rateLimit.',
  HistoryProps: 'history.',
};

/**
 * Each prop's TSDoc in lib/switchboard-api-props.ts, by prop path (`rateLimit.burst`), read from
 * the source as an IDE shows it: the text, and the `@default` values it states for the prop (an
 * object default such as `{ burst: 20, perSecond: 10 }` states one for each of its keys too).
 */
function propDocs(): { text: Map<string, string>; defaults: Map<string, string[]>; interfaces: string[] } {
  const source = readFileSync(join(PROJECT_ROOT, 'lib/switchboard-api-props.ts'), 'utf8');
  const text = new Map<string, string>();
  const defaults = new Map<string, string[]>();
  const interfaces: string[] = [];
  const state = (path: string, value: string) => defaults.set(path, [...(defaults.get(path) ?? []), value]);
  for (const [, name, body] of source.matchAll(/export interface (\w+) \{([\s\S]*?)\n\}/g)) {
    interfaces.push(name as string);
    const prefix = PROP_INTERFACES[name as string];
    if (prefix === undefined) continue;
    for (const [, comment, prop] of (body as string).matchAll(/\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)\??:/g)) {
      const doc = (comment as string)
        .replace(/^\s*\* ?/gm, ' ')
        .replace(/\s+/g, ' ')
        .trim();
      const path = `${prefix}${prop}`;
      text.set(path, doc);
      const value = /@default (.+?)(?= @\w|$)/.exec(doc)?.[1]?.trim();
      if (value === undefined || value.startsWith('-')) continue;
      state(path, value);
      const object = /^\{ (.*) \}$/.exec(value)?.[1];
      for (const entry of object?.split(/, (?=\w+: )/) ?? []) {
        const [key, ...rest] = entry.split(': ');
        state(`${path}.${key}`, rest.join(': '));
      }
    }
  }
  return { text, defaults, interfaces };
}

/** A row's default as the construct's TSDoc writes it: `Duration.hours(1)`, `'ws'`, `RetentionDays.ONE_MONTH`. */
function tsdocDefault(row: Setting): string {
  const value = row.default;
  switch (row.kind) {
    case 'seconds': {
      const units = [
        ['days', 86_400],
        ['hours', 3600],
        ['minutes', 60],
        ['seconds', 1],
      ] as const;
      const [unit, size] = units.find(([, size]) => (value as number) % size === 0) ?? units[3];
      return `Duration.${unit}(${(value as number) / size})`;
    }
    case 'minutes':
      return `Duration.minutes(${value})`;
    case 'string':
      return `'${value}'`;
    case 'removalPolicy':
      return `RemovalPolicy.${String(value).toUpperCase()}`;
    case 'logRetentionDays':
      return `RetentionDays.${Object.entries(RetentionDays).find(([, days]) => days === value)?.[0]}`;
    default:
      return String(value);
  }
}

describe("the construct's TSDoc", () => {
  const { text, defaults, interfaces } = propDocs();
  const documented = SETTING_ROWS.filter((row) => row.prop && row.kind !== 'flag');

  it('is read from every interface of props', () => {
    expect(interfaces.filter((name) => !name.startsWith('Resolved')).sort()).toEqual(
      Object.keys(PROP_INTERFACES).sort(),
    );
    expect(text.size).toBeGreaterThan(40);
  });

  it("states each prop's default as the table's, wherever it states one", () => {
    for (const row of documented) {
      if (row.default === undefined) continue;
      const stated = defaults.get(row.prop as string);
      // Every prop with a default in the table says it, in its own comment or its parent's.
      expect(stated, `${row.prop} states no @default`).toBeDefined();
      for (const value of stated ?? []) expect(value, row.prop).toBe(tsdocDefault(row));
    }
  });

  it("states each prop's range as the table's, and no other", () => {
    for (const row of documented) {
      const doc = text.get(row.prop as string);
      // Props of CDK's own types (throttle.rateLimit) have no comment of ours.
      if (doc === undefined) continue;
      const range = rangeOf(row);
      if (row.min !== undefined && row.max !== undefined) expect(doc, row.prop).toContain(range);
      const rest = range ? doc.replace(range, '') : doc;
      expect(rest, `${row.prop} states another range`).not.toMatch(/\b\d[\d,]*(?: \w+)? to \d/);
    }
  });
});

describe('the handlers’ environment', () => {
  it('holds every variable the handlers read on AWS, each with the default the handlers would use', () => {
    // Act
    const env = handlerEnvironment({ ...WIRING, config: resolveSwitchboardApiProps({}) });
    // Assess
    for (const row of SETTING_ROWS) {
      if (!row.env || !readBy(row, 'handlers')) continue;
      const onAws = row.onAws !== 'local only' && (row.default !== undefined || row.onAws !== undefined);
      if (onAws) expect(env, row.name).toHaveProperty([row.env]);
      if (row.onAws === 'local only') expect(env, row.name).not.toHaveProperty([row.env]);
    }
    // The handlers' own defaults are the stack's: setting them explicitly changes nothing.
    const defaults = loadConfig(MINIMAL_ENV);
    const {
      [ENV.authSecretArn]: _arn,
      [ENV.callbackUrl]: _callbackUrl,
      [ENV.fanoutQueueUrl]: _queueUrl,
      ...settings
    } = env;
    const deployed = loadConfig({ ...settings, ...MINIMAL_ENV });
    expect({ ...deployed, auth: { ...deployed.auth } }).toEqual({ ...defaults, auth: { ...defaults.auth } });
  });

  it("refuses each count just outside the table's range, naming the variable", () => {
    for (const row of SETTING_ROWS) {
      const { env: name, max, min } = row;
      if (!name || !readBy(row, 'handlers') || max === undefined || min === undefined) continue;
      if (row.kind !== 'integer' && row.kind !== 'seconds') continue;
      expect(() => loadConfig({ ...MINIMAL_ENV, [name]: String(max) }), row.name).not.toThrow();
      expect(() => loadConfig({ ...MINIMAL_ENV, [name]: String(max + 1) }), row.name).toThrow(name);
      expect(() => loadConfig({ ...MINIMAL_ENV, [name]: String(min - 1) }), row.name).toThrow(name);
    }
  });
});

describe('context', () => {
  /** A valid context value for a row, as `-c key=value` gives it. */
  function sample(row: (typeof SETTING_ROWS)[number]): string | undefined {
    switch (row.kind) {
      case 'integer':
      case 'number':
      case 'seconds':
      case 'minutes':
        return String(row.max ?? (row.min ?? 0) + 1);
      case 'boolean':
        return String(!row.default);
      case 'string':
        return row.name === 'domainName' ? undefined : row.name === 'stageName' ? 'live' : 'some-value';
      case 'url':
        return 'https://id.example.com/jwks.json';
      case 'list':
        return 'https://a.example.com,https://b.example.com';
      default:
        return undefined;
    }
  }

  it('sets each prop from its context key, and the handlers get it in their variable', () => {
    const rows = SETTING_ROWS.filter((row) => row.context && row.prop && sample(row) !== undefined);
    const context = Object.fromEntries(rows.map((row) => [row.context, sample(row)]));
    const app = new App({ context });
    const props = switchboardPropsFromContext(new Stack(app, 'Probe'), app.node);
    for (const row of rows) {
      const value = propValue(props as never, row.prop as string);
      const text = sample(row);
      const expected =
        row.kind === 'list'
          ? text?.split(',')
          : row.kind === 'boolean'
            ? text === 'true'
            : ['integer', 'number', 'seconds', 'minutes'].includes(row.kind)
              ? Number(text)
              : text;
      expect(resolvedValue(row, value), row.name).toEqual(expected);
    }
    const env = handlerEnvironment({
      ...WIRING,
      config: resolveSwitchboardApiProps({ ...props, frontDoor: undefined } as never),
    });
    for (const row of rows) {
      if (!row.env || !readBy(row, 'handlers')) continue;
      expect(env[row.env], row.name).toBe(sample(row));
    }
  });
});

describe('the local stack', () => {
  it("uses the table's defaults and names its variables from it", () => {
    const settings = resolveSettings({}, {}) as unknown as Record<string, unknown>;
    expect(settings).toMatchObject({
      port: SETTINGS.port.default,
      dynamodbPort: SETTINGS.dynamodbPort.default,
      tableName: SETTINGS.tableName.default,
      stage: SETTINGS.stageName.default,
      eventBusName: SETTINGS.eventBusName.default,
      sweepIntervalSeconds: SETTINGS.sweepIntervalSeconds.default,
      idleTimeoutSeconds: SETTINGS.idleTimeoutSeconds.default,
      maxConnectionSeconds: SETTINGS.maxConnectionSeconds.default,
      verbose: SETTINGS.localVerbose.default,
      faultInjection: SETTINGS.localFaults.default,
      retryDelayMs: 1000 * SETTINGS.localRetrySeconds.default,
    });
    for (const row of SETTING_ROWS) {
      const { env: name, max } = row;
      if (!readBy(row, 'local') || max === undefined || !name) continue;
      expect(() => resolveSettings({}, { [name]: String(max + 1) }), row.name).toThrow(name);
    }
  });
});

describe('docs/configuration.md', () => {
  it('is the table, as `npm run docs:config` writes it', () => {
    expect(readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(configurationMarkdown());
  });

  it('is the only page with a table of settings (the others link to it)', () => {
    // A row of a Markdown table that starts with a setting's context key, variable or prop is a
    // second table of settings, whose defaults and ranges would drift from this one.
    const names = SETTING_ROWS.flatMap((row) => [row.context, row.env, row.prop]).filter(Boolean);
    const docs = join(PROJECT_ROOT, 'docs');
    const rows = readdirSync(docs)
      .filter((file) => file.endsWith('.md') && join(docs, file) !== CONFIGURATION_DOC)
      .flatMap((file) =>
        readFileSync(join(docs, file), 'utf8')
          .split('\n')
          .filter((line) => names.some((name) => line.startsWith(`| \`${name}\``)))
          .map((line) => `${file}: ${line.slice(0, 60)}`),
      );
    expect(rows).toEqual([]);
  });
});
