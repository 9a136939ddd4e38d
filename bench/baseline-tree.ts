/**
 * An older commit of this repository, checked out beside the working tree for a same-run A/B: a
 * detached `git worktree` under a temporary directory, with its own `node_modules` from its own
 * lockfile (`npm ci`, from the npm cache when it has everything, else from the registry).
 * Its removal is a step of the stage's `Teardown`; worktrees of a bench killed outright are removed
 * by the next run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { StageError, type Teardown } from './context.js';
import { hrNow, round } from './stats.js';

const run = promisify(execFile);
const NPM_CI_TIMEOUT_MS = 300_000;
const PREFIX = 'switchboard-ab-';
/** Beside the worktree: the pid of the bench that made it. */
const OWNER_FILE = 'owner.pid';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes baseline worktrees left by a bench that was killed outright (SIGKILL gives it no chance
 * to clean up; so does `tsx` when a loaded machine keeps the bench from answering its relayed
 * Ctrl-C within 30 ms): those under the temporary directory whose owner is no longer running.
 */
async function removeLeftovers(repoRoot: string): Promise<void> {
  const { stdout } = await run('git', ['worktree', 'list', '--porcelain'], { cwd: repoRoot });
  for (const line of stdout.split('\n')) {
    const dir = line.startsWith('worktree ') ? line.slice('worktree '.length) : undefined;
    const parent = dir ? dirname(dir) : undefined;
    if (!dir || !parent || dirname(parent) !== tmpdir() || !basename(parent).startsWith(PREFIX)) continue;
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(parent, OWNER_FILE), 'utf8'));
    } catch {
      // No owner file: made by a bench that died before writing it.
    }
    if (Number.isInteger(owner) && isRunning(owner)) continue;
    await run('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot }).catch(() => {});
    rmSync(parent, { recursive: true, force: true });
  }
  await run('git', ['worktree', 'prune'], { cwd: repoRoot });
}

export interface BaselineTree {
  readonly dir: string;
  /** The full commit id. */
  readonly commit: string;
  readonly subject: string;
  readonly npmCiSeconds: number;
}

function failure(what: string, error: unknown): StageError {
  const { stderr, message } = error as { stderr?: string; message?: string };
  const tail = (stderr || message || String(error)).trim().split('\n').slice(-8).join('\n  ');
  return new StageError(`${what} failed:\n  ${tail}`, { cause: error });
}

/**
 * Checks `commit` out (detached) under a new temporary directory and installs its dependencies
 * (lifecycle scripts off: nothing of the old tree runs before the stack itself). Its removal is
 * added to `teardown` before anything is created, so a failure halfway leaves nothing behind.
 */
export async function prepareBaselineTree(
  repoRoot: string,
  commit: string,
  teardown: Teardown,
  signal: AbortSignal,
): Promise<BaselineTree> {
  await removeLeftovers(repoRoot).catch(() => {});
  const parent = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(parent, OWNER_FILE), String(process.pid));
  const dir = join(parent, 'baseline');
  teardown.add(`removing the baseline worktree ${dir}`, async () => {
    await run('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot }).catch(() => {});
    rmSync(parent, { recursive: true, force: true });
    // Also when `remove` could not run (the checkout failed halfway): forget the registration.
    await run('git', ['worktree', 'prune'], { cwd: repoRoot }).catch(() => {});
  });
  let full: string;
  let subject: string;
  try {
    full = (
      await run('git', ['rev-parse', '--verify', `${commit}^{commit}`], { cwd: repoRoot })
    ).stdout.trim();
    subject = (await run('git', ['log', '-1', '--format=%s', full], { cwd: repoRoot })).stdout.trim();
    await run('git', ['worktree', 'add', '--detach', dir, full], { cwd: repoRoot, signal });
  } catch (error) {
    throw failure(`checking out ${commit}`, error);
  }
  const started = hrNow();
  try {
    await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: dir,
      signal,
      timeout: NPM_CI_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    throw failure(`npm ci in the baseline worktree (${dir})`, error);
  }
  return { dir, commit: full, subject, npmCiSeconds: round((hrNow() - started) / 1000, 1) };
}

/** The working tree's commit and how many files differ from it (the B side of an A/B). */
export async function workingTreeState(
  repoRoot: string,
): Promise<{ readonly commit: string; readonly uncommittedFiles: number }> {
  const commit = (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).stdout.trim();
  const status = (await run('git', ['status', '--porcelain'], { cwd: repoRoot })).stdout;
  return { commit, uncommittedFiles: status.split('\n').filter(Boolean).length };
}
