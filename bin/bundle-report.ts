/**
 * `npm run bundle-report`: each handler's minified bundle size and its module-init time.
 *
 * Each entry of `lambdas/routes.ts` is bundled with esbuild exactly as `NodejsFunction` bundles it
 * (the options come from `lib/bundling.ts`, which the stack uses too), then imported in a fresh
 * Node process with the handler environment set, timing the `import()`: the module-init part of
 * a cold start. Runs offline: the HS256 secret is given as a value instead of a Secrets Manager
 * ARN, so init makes no network call.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ENV } from '../adapters/config.js';
import { TRIGGER_ENTRIES, WEBSOCKET_ROUTES } from '../lambdas/routes.js';
import {
  adapterPermissions,
  esbuildOptionsFor,
  HANDLER_NODE_OPTIONS,
  PROJECT_ROOT,
} from '../lib/bundling.js';
import { handlerEnvironment } from '../lib/handler-environment.js';
import { HANDLER_ACCESS } from '../lib/switchboard-api.js';
import { resolveSwitchboardApiProps } from '../lib/switchboard-api-props.js';

const RUNS = Number(process.env.BUNDLE_REPORT_RUNS ?? 5);
const OUT_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'switchboard', 'bundle-report');

/** Imports the bundle and prints how long the import took, in milliseconds. */
const TIMER = `
const started = performance.now();
const mod = await import(process.env.BUNDLE_URL);
if (typeof mod.handler !== 'function') throw new Error('the bundle does not export handler');
process.stdout.write(String(performance.now() - started));
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

function initMilliseconds(file: string, env: Record<string, string>): number {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', TIMER], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, BUNDLE_URL: pathToFileURL(file).href },
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`importing ${file} failed (exit ${result.status}):\n${result.stderr.trim()}`);
  }
  return Number(result.stdout);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const entries = [...new Set([...WEBSOCKET_ROUTES.map((r) => r.entry), ...Object.values(TRIGGER_ENTRIES)])];
  rmSync(OUT_DIR, { recursive: true, force: true });
  const env = environment();

  const rows: string[][] = [];
  const mismatches: string[] = [];
  for (const entry of entries) {
    const dir = join(OUT_DIR, entry);
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'index.mjs');
    const { metafile } = await build({ ...esbuildOptionsFor(entry, outfile), metafile: true });
    const code = readFileSync(outfile);
    const times = Array.from({ length: RUNS }, () => initMilliseconds(outfile, env));

    const uses = adapterPermissions(metafile);
    const access = HANDLER_ACCESS[entry];
    const granted = {
      table: access !== undefined && access.table !== 'none',
      secret: access?.secret === true,
      manageConnections: access?.manageConnections === true,
      fanoutQueue: access?.fanoutQueue === true,
    };
    for (const permission of ['table', 'secret', 'manageConnections', 'fanoutQueue'] as const) {
      if (uses[permission] !== granted[permission]) {
        mismatches.push(
          `${entry}: code ${uses[permission] ? 'uses' : 'does not use'} ${permission}, stack ${granted[permission] ? 'grants' : 'does not grant'} it`,
        );
      }
    }
    rows.push([
      entry,
      kb(code.length),
      kb(gzipSync(code).length),
      `${median(times).toFixed(0)} ms`,
      `${Math.min(...times).toFixed(0)}-${Math.max(...times).toFixed(0)} ms`,
      [
        granted.table ? 'table' : '',
        granted.secret ? 'secret' : '',
        granted.manageConnections ? '@connections' : '',
      ]
        .filter(Boolean)
        .join(', '),
    ]);
  }

  const header = ['handler', 'minified', 'gzip', `init (median of ${RUNS})`, 'init range', 'grants'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nesbuild: node22 ESM, minified, source maps, @aws-sdk/* external (as NodejsFunction builds them); init = import() in a fresh Node ${process.version} process.`,
  );
  if (mismatches.length > 0) {
    console.error(`\nGrants do not match the code:\n  ${mismatches.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
