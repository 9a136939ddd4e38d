/**
 * Stage "cold start": module-init time of every bundled handler. `bin/bundle-report.ts` owns how a
 * handler is bundled (as `NodejsFunction` does) and timed (`import()` in a fresh Node process); it
 * runs here as a child process and its table is parsed, so there is one implementation of both.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchContext, StageError, within } from './context.js';

export interface HandlerColdStart {
  readonly handler: string;
  readonly minifiedKB: number;
  readonly gzipKB: number;
  readonly initMedianMs: number;
  readonly initMinMs: number;
  readonly initMaxMs: number;
}

export interface ColdStartResult {
  readonly runsPerHandler: number;
  readonly handlers: HandlerColdStart[];
  /** bundle-report's own footnote (bundler settings, Node version of the timing processes). */
  readonly method: string;
  /** bundle-report's complaint when a stack grant does not match what the code uses. */
  readonly grantsMismatch: string | undefined;
}

const REPORT = fileURLToPath(new URL('../bin/bundle-report.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Parses bundle-report's table: columns separated by two or more spaces. */
export function parseBundleReport(stdout: string): { handlers: HandlerColdStart[]; method: string } {
  const lines = stdout.split('\n');
  const headerAt = lines.findIndex((line) => /^handler\s{2,}minified\s{2,}gzip\s{2,}init/.test(line));
  if (headerAt < 0) throw new StageError(`bundle-report printed no table:\n${stdout.slice(0, 2000)}`);
  const handlers: HandlerColdStart[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    if (!line.trim()) break;
    const [handler, minified, gzip, init, range] = line.trim().split(/\s{2,}/);
    const kb = (cell: string | undefined) => Number(/^([\d.]+) KB$/.exec(cell ?? '')?.[1] ?? Number.NaN);
    const ms = /^(\d+(?:\.\d+)?) ms$/.exec(init ?? '')?.[1];
    const spread = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?) ms$/.exec(range ?? '');
    if (!handler || ms === undefined || !spread || Number.isNaN(kb(minified)) || Number.isNaN(kb(gzip))) {
      throw new StageError(`cannot read this bundle-report row: "${line}"`);
    }
    handlers.push({
      handler,
      minifiedKB: kb(minified),
      gzipKB: kb(gzip),
      initMedianMs: Number(ms),
      initMinMs: Number(spread[1]),
      initMaxMs: Number(spread[2]),
    });
  }
  if (handlers.length === 0) throw new StageError('bundle-report listed no handler');
  const method = lines.find((line) => line.startsWith('esbuild:'))?.trim() ?? '';
  return { handlers, method };
}

export async function runColdStart(ctx: BenchContext, runs: number): Promise<ColdStartResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', REPORT], {
    cwd: ROOT,
    env: { ...process.env, BUNDLE_REPORT_RUNS: String(runs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  // bundle-report prints its table at the end: progress follows the clock (about 1 s + 0.5 s per run per handler).
  const started = Date.now();
  const expectedMs = 10 * (1000 + runs * 500);
  const ticker = setInterval(() => {
    const elapsed = Date.now() - started;
    ctx.progress.update(
      Math.min(0.95, elapsed / expectedMs),
      `bundling and timing handlers (${runs} imports each)`,
    );
  }, 500);
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  const kill = () => child.kill('SIGTERM');
  ctx.signal.addEventListener('abort', kill, { once: true });
  let code: number | null;
  try {
    code = await within(exited, 300_000, 'bin/bundle-report.ts', ctx.signal);
  } catch (error) {
    kill();
    throw error;
  } finally {
    clearInterval(ticker);
    ctx.signal.removeEventListener('abort', kill);
  }
  const mismatch = /Grants do not match the code:[\s\S]*/.exec(stderr)?.[0]?.trim();
  // bundle-report exits 1 when grants and code disagree, after printing the table: that is its
  // finding to report, not a failure of the measurement.
  if (code !== 0 && !mismatch) {
    throw new StageError(`bin/bundle-report.ts exited with ${code}:\n${stderr.trim().slice(-2000)}`);
  }
  const { handlers, method } = parseBundleReport(stdout);
  if (mismatch) ctx.warn(`bundle-report: ${mismatch.replace(/\s+/g, ' ')}`);
  return { runsPerHandler: runs, handlers, method, grantsMismatch: mismatch };
}
