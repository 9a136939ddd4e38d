/** What every stage gets: the abort signal (Ctrl-C, the time limit), the progress bar, warnings. */
import type { Progress } from './progress.js';

/** A stage could not produce a trustworthy number; the message says what and where. */
export class StageError extends Error {
  override readonly name = 'StageError';
}

/** The run was stopped (Ctrl-C, SIGTERM, or the time limit). */
export class BenchAbortedError extends Error {
  override readonly name = 'BenchAbortedError';
}

export interface BenchContext {
  readonly signal: AbortSignal;
  /** The progress bar, or (in a stage's own process) a relay to the bench's. */
  readonly progress: Pick<Progress, 'update' | 'log'>;
  /** Something worth knowing about the numbers; ends up in results.json and the summary. */
  warn(message: string): void;
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new BenchAbortedError(String(signal.reason));
  }
}

/** Waits `ms`, or rejects as soon as the run is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new BenchAbortedError('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, or a `StageError(message)` after `ms`, or the abort reason, whichever comes first. */
export function within<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(signal?.reason instanceof Error ? signal.reason : new BenchAbortedError('aborted'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new StageError(`${message} (no answer within ${Math.round(ms / 1000)} s)`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure rejects (after the others settle). */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * What a stage started and must stop (processes, a worktree), newest first. The stage runs it when
 * it ends; the bench runs it too when it exits early (Ctrl-C, the time limit), and both wait for
 * the same single run.
 */
export class Teardown {
  private readonly steps: { readonly what: string; readonly stop: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, stop: () => Promise<void>): void {
    this.steps.push({ what, stop });
  }

  /** Runs every step once, newest first; a failing step is reported to `onError` and the rest still run. */
  run(onError: (message: string) => void = () => {}): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        await step.stop().catch((error: unknown) => {
          onError(`${step.what}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
    })();
    return this.running;
  }
}
