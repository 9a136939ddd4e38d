/**
 * `npm run bundle-report [-- --analyze] [-- --record]`: each handler's minified bundle size and its
 * module-init time, against the budget in `lib/bundling.ts` (`BUNDLE_BUDGET`).
 *
 * Each entry of `lambdas/handlers.ts` is bundled with esbuild exactly as `NodejsFunction` bundles it
 * (the options come from `lib/bundling.ts`, which the stack uses too), then imported in a fresh
 * Node process with the handler environment set, timing the `import()`: the module-init part of
 * a cold start. In the same process the external modules the bundle imports (the AWS SDK, which
 * the Lambda runtime provides) are imported first and timed apart, so `bundle init` is what the
 * bundle's own code costs and `init` the whole. Runs offline: the HS256 secret is given as a value
 * instead of a Secrets Manager ARN, so init makes no network call and does not load the Secrets
 * Manager client (`connect` and `auth` do both at init on AWS).
 *
 * `--analyze` lists what each bundle holds, largest first (packages, and this project's files).
 * `--record` writes the figures into the `bundles` section of `bench/results.json`, and builds the two
 * npm packages (packages/build.ts) to record what they ship in its `packages` section: the SDK's
 * size (core and `/react`, minified and gzipped) and each prebuilt handler asset of the construct.
 * `--packages` does only the latter (no init timing): `--packages --record` rewrites only `packages`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { ENV } from '../adapters/config.js';
import type { HandlerColdStart } from '../bench/cold-start.js';
import { machineInfo } from '../bench/machine.js';
import { HANDLER_LIST } from '../lambdas/handlers.js';
import {
  adapterPermissions,
  BUNDLE_BUDGET,
  esbuildOptionsFor,
  HANDLER_NODE_OPTIONS,
  PROJECT_ROOT,
} from '../lib/bundling.js';
import { handlerEnvironment } from '../lib/handler-environment.js';
import { resolveSwitchboardApiProps } from '../lib/switchboard-api-props.js';
import { measurePackages, type PackagesResult } from '../packages/sizes.js';

const RUNS = Number(process.env.BUNDLE_REPORT_RUNS ?? 5);
const OUT_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'switchboard', 'bundle-report');
const RESULTS_FILE = join(PROJECT_ROOT, 'bench', 'results.json');
/** How many of a bundle's largest inputs `--record` keeps. */
const TOP_INPUTS = 5;

/**
 * Imports the external modules the bundle imports at its top, then the bundle, and prints both
 * durations in milliseconds: `{whole} {bundle alone}`.
 */
const TIMER = `
const started = performance.now();
for (const name of JSON.parse(process.env.BUNDLE_EXTERNALS)) await import(name);
const externalsDone = performance.now();
const mod = await import(process.env.BUNDLE_URL);
if (typeof mod.handler !== 'function') throw new Error('the bundle does not export handler');
const done = performance.now();
process.stdout.write(String(done - started) + ' ' + String(done - externalsDone));
`;

function environment(): Record<string, string> {
  const env = handlerEnvironment({
    tableName: 'switchboard-bundle-report',
    callbackUrl: 'https://abcdef1234.execute-api.us-east-1.amazonaws.com/ws',
    authSecretArn: '',
    fanoutQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/switchboard-fanout',
    config: resolveSwitchboardApiProps({}),
  });
  delete env[ENV.authSecretArn];
  return {
    ...env,
    [ENV.authSecret]: 'bundle-report-secret-0123456789abcdef0123456789abcdef',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBUNDLEREPORT',
    AWS_SECRET_ACCESS_KEY: 'bundle-report',
    AWS_LAMBDA_FUNCTION_NAME: 'bundle-report',
    NODE_OPTIONS: HANDLER_NODE_OPTIONS,
  };
}

function initMilliseconds(
  file: string,
  externals: readonly string[],
  env: Record<string, string>,
): { whole: number; bundle: number } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', TIMER], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      BUNDLE_URL: pathToFileURL(file).href,
      BUNDLE_EXTERNALS: JSON.stringify(externals),
    },
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`importing ${file} failed (exit ${result.status}):\n${result.stderr.trim()}`);
  }
  const [whole, bundle] = result.stdout.trim().split(' ').map(Number);
  return { whole: whole ?? Number.NaN, bundle: bundle ?? Number.NaN };
}

type Output = Metafile['outputs'][string];

/** The external modules the bundle imports statically, i.e. at init (dynamic imports load later). */
function staticExternals(output: Output): string[] {
  return output.imports.filter((i) => i.external && i.kind === 'import-statement').map((i) => i.path);
}

/** The bundle's inputs grouped by package (or by file, for this project's own), largest first. */
function inputsBySize(output: Output): { input: string; bytes: number }[] {
  const groups = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
    const input = pkg ?? path;
    groups.set(input, (groups.get(input) ?? 0) + bytesInOutput);
  }
  return [...groups]
    .map(([input, bytes]) => ({ input, bytes }))
    .filter((g) => g.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}

/** One handler's figures, as `--record` writes them into `bench/results.json`. */
export interface HandlerBundle extends HandlerColdStart {
  /** The minified size exactly (`minifiedKB` is it in KiB, rounded): what the budget is checked on. */
  readonly minifiedBytes: number;
  /** The bundle's own code: `init` less the external modules it imports (the AWS SDK). */
  readonly bundleInitMedianMs: number;
  readonly externalsAtInit: readonly string[];
  readonly largestInputs: readonly { readonly input: string; readonly KB: number }[];
}

/** The `bundles` section of `bench/results.json`. */
export interface BundlesResult {
  readonly measuredAt: string;
  readonly git: { readonly commit: string; readonly uncommittedFiles: number };
  readonly node: string;
  readonly cores: number;
  readonly loadAverageAtStart: readonly number[];
  readonly runsPerHandler: number;
  readonly budget: typeof BUNDLE_BUDGET;
  readonly method: string;
  readonly handlers: readonly HandlerBundle[];
  /** Handlers over the budget, and by what. */
  readonly overBudget: readonly string[];
}

/** Builds both npm packages and prints what they ship; `record` writes only the `packages` section. */
async function reportPackages(record: boolean): Promise<PackagesResult> {
  const packages = await measurePackages();
  const { core, react } = packages.client;
  console.log(
    `\n${packages.client.name} ${packages.client.version}: core ${core.minifiedKB} KB minified, ${core.gzipKB} KB gzip (budget ${packages.client.budget.coreMinGzipKB} KB); /react ${react.minifiedKB} KB, ${react.gzipKB} KB gzip`,
  );
  console.log(
    `${packages.cdk.name} ${packages.cdk.version}: construct ${packages.cdk.constructKB} KB; handler assets ${packages.cdk.handlers.map((h) => `${h.handler} ${h.minifiedKB} KB`).join(', ')}`,
  );
  if (record) {
    const results = existsSync(RESULTS_FILE)
      ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>)
      : {};
    writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...results, packages }, null, 2)}\n`);
    console.log(`\nRecorded in ${RESULTS_FILE} (packages).`);
  }
  return packages;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
/** KiB (1,024 bytes), as `BUNDLE_BUDGET`. */
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const { values: options } = parseArgs({
    options: {
      analyze: { type: 'boolean', default: false },
      record: { type: 'boolean', default: false },
      packages: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (options.packages) {
    await reportPackages(options.record);
    return;
  }
  const machine = machineInfo();
  rmSync(OUT_DIR, { recursive: true, force: true });
  const env = environment();
  const round = (value: number) => Math.round(value * 10) / 10;

  const rows: string[][] = [];
  const handlers: HandlerBundle[] = [];
  const analyses: string[] = [];
  const mismatches: string[] = [];
  for (const { entry, access } of HANDLER_LIST) {
    const dir = join(OUT_DIR, entry);
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'index.mjs');
    const { metafile } = await build({ ...esbuildOptionsFor(entry, outfile), metafile: true });
    const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
    if (!output) throw new Error(`esbuild wrote no entry point for ${entry}`);
    const externals = staticExternals(output);
    const code = readFileSync(outfile);
    const gzipBytes = gzipSync(code).length;
    const times = Array.from({ length: RUNS }, () => initMilliseconds(outfile, externals, env));
    const whole = times.map((t) => t.whole);
    const inputs = inputsBySize(output);

    const uses = adapterPermissions(metafile);
    const granted = { ...access, table: access.table !== 'none' };
    for (const permission of [
      'table',
      'secret',
      'manageConnections',
      'fanoutQueue',
      'publishQueue',
    ] as const) {
      if (uses[permission] !== granted[permission]) {
        mismatches.push(
          `${entry}: code ${uses[permission] ? 'uses' : 'does not use'} ${permission}, stack ${granted[permission] ? 'grants' : 'does not grant'} it`,
        );
      }
    }
    rows.push([
      entry,
      kb(code.length),
      kb(gzipBytes),
      `${median(whole).toFixed(0)} ms`,
      `${Math.min(...whole).toFixed(0)}-${Math.max(...whole).toFixed(0)} ms`,
      `${median(times.map((t) => t.bundle)).toFixed(0)} ms`,
      [
        granted.table ? 'table' : '',
        granted.secret ? 'secret' : '',
        granted.manageConnections ? '@connections' : '',
      ]
        .filter(Boolean)
        .join(', '),
    ]);
    handlers.push({
      handler: entry,
      minifiedKB: round(code.length / 1024),
      minifiedBytes: code.length,
      gzipKB: round(gzipBytes / 1024),
      initMedianMs: round(median(whole)),
      initMinMs: round(Math.min(...whole)),
      initMaxMs: round(Math.max(...whole)),
      bundleInitMedianMs: round(median(times.map((t) => t.bundle))),
      externalsAtInit: externals,
      largestInputs: inputs.slice(0, TOP_INPUTS).map((i) => ({ input: i.input, KB: round(i.bytes / 1024) })),
    });
    analyses.push(
      `${entry} (${kb(code.length)}):\n${inputs.map((i) => `  ${kb(i.bytes).padStart(9)}  ${i.input}`).join('\n')}`,
    );
  }

  const header = [
    'handler',
    'minified',
    'gzip',
    `init (median of ${RUNS})`,
    'init range',
    'bundle init',
    'grants',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const method = `esbuild: node22 ESM, minified, source maps, @aws-sdk/* external (as NodejsFunction builds them); init = import() in a fresh Node ${process.version} process; bundle init = the same less importing the external modules first.`;
  console.log(`\n${method}`);

  const overBudget = handlers.flatMap((h) => [
    ...(h.minifiedBytes > BUNDLE_BUDGET.minifiedBytes
      ? [
          `${h.handler}: ${h.minifiedBytes} bytes minified (budget ${BUNDLE_BUDGET.minifiedKB} KiB, ${BUNDLE_BUDGET.minifiedBytes} bytes)`,
        ]
      : []),
    ...(h.initMedianMs > BUNDLE_BUDGET.initMs
      ? [
          `${h.handler}: init ${h.initMedianMs} ms (budget ${BUNDLE_BUDGET.initMs} ms; bundle alone ${h.bundleInitMedianMs} ms)`,
        ]
      : []),
  ]);
  console.log(
    overBudget.length === 0
      ? `Budget (${BUNDLE_BUDGET.minifiedKB} KiB = ${BUNDLE_BUDGET.minifiedBytes} bytes minified, ${BUNDLE_BUDGET.initMs} ms init): every handler within it.`
      : `Over the budget (${BUNDLE_BUDGET.minifiedKB} KiB = ${BUNDLE_BUDGET.minifiedBytes} bytes minified, ${BUNDLE_BUDGET.initMs} ms init):\n  ${overBudget.join('\n  ')}`,
  );
  const load = machine.loadAverageAtStart[0] ?? 0;
  if (load > machine.cores) {
    console.log(
      `The machine was busy (load average ${load} on ${machine.cores} cores): init times are pessimistic.`,
    );
  }
  if (options.analyze) console.log(`\nLargest inputs of each bundle:\n\n${analyses.join('\n\n')}`);

  if (options.record) {
    const bundles: BundlesResult = {
      measuredAt: new Date().toISOString(),
      git: machine.git,
      node: machine.node,
      cores: machine.cores,
      loadAverageAtStart: machine.loadAverageAtStart,
      runsPerHandler: RUNS,
      budget: BUNDLE_BUDGET,
      method,
      handlers,
      overBudget,
    };
    const results = existsSync(RESULTS_FILE)
      ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>)
      : {};
    const packages = await reportPackages(false);
    writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...results, bundles, packages }, null, 2)}\n`);
    console.log(`\nRecorded in ${RESULTS_FILE} (bundles, packages).`);
  }
  if (mismatches.length > 0) {
    console.error(`\nGrants do not match the code:\n  ${mismatches.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
