/**
 * A stage part that needs a stack of its own (the handlers read their limits once, at import, so
 * a stack with other limits needs another process): started with `environment`, it reports by
 * IPC (`OwnProcessMessage`) and this side relays its progress. Killed on abort; told to stop (it
 * stops its workers and its stack) once it answered.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { BenchAbortedError, type BenchContext, StageError, within } from './context.js';

export type OwnProcessMessage<R, P extends string> =
  | { readonly type: 'phase'; readonly name: P }
  | { readonly type: 'update'; readonly fraction: number; readonly detail?: string }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'warn'; readonly message: string }
  | { readonly type: 'result'; readonly result: R }
  | { readonly type: 'error'; readonly message: string };

export async function runInOwnProcess<R, P extends string>(
  ctx: BenchContext,
  file: string,
  environment: NodeJS.ProcessEnv,
  /** Sent as `{ op: 'run', options }`. */
  options: unknown,
  phase: (name: P) => void,
  label: string,
): Promise<R> {
  const child: ChildProcess = fork(file, [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: environment,
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    stderr.splice(0, Math.max(0, stderr.length - 20));
  });
  const onAbort = () => child.kill('SIGTERM');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<R>((resolve, reject) => {
      child.on('message', (raw) => {
        const message = raw as OwnProcessMessage<R, P>;
        switch (message.type) {
          case 'phase':
            return phase(message.name);
          case 'update':
            return ctx.progress.update(message.fraction, message.detail);
          case 'log':
            return ctx.progress.log(message.line);
          case 'warn':
            return ctx.warn(message.message);
          case 'result':
            return resolve(message.result);
          case 'error':
            return reject(new StageError(message.message));
        }
      });
      child.once('exit', (code, signal) => {
        if (ctx.signal.aborted) return reject(new BenchAbortedError('aborted'));
        const tail = stderr.join('\n  ');
        reject(new StageError(`${label} exited (${signal ?? `code ${code}`})${tail ? `:\n  ${tail}` : ''}`));
      });
      child.send({ op: 'run', options });
    });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ op: 'stop' });
      await within(exited, 90_000, `stopping ${label}`).catch(() => child.kill('SIGKILL'));
    }
  }
}

/**
 * The child's side: on `{ op: 'run', options }` runs `work` with a context whose progress goes to
 * the parent, sends its result, and stops (`stop`: its workers and its stack) when the parent says
 * `stop`, on SIGTERM, and when the parent goes away (IPC disconnect).
 */
export function serveOwnProcess<R>(
  name: string,
  work: (ctx: BenchContext, options: unknown) => Promise<R>,
  stop: () => Promise<void>,
): void {
  const tell = (message: OwnProcessMessage<R, string>) => {
    if (process.connected) process.send?.(message);
  };
  const controller = new AbortController();
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      controller.abort(new BenchAbortedError(`the bench stopped ${name}`));
      await stop().catch(() => {});
      process.exit(0);
    })();
    return stopping;
  };
  const ctx: BenchContext = {
    signal: controller.signal,
    progress: {
      update: (fraction, detail) =>
        tell({ type: 'update', fraction, ...(detail !== undefined ? { detail } : {}) }),
      log: (line) => tell({ type: 'log', line }),
    },
    warn: (message) => tell({ type: 'warn', message }),
  };
  process.on('message', (raw) => {
    const message = raw as { op: 'run'; options: unknown } | { op: 'stop' };
    if (message.op === 'stop') {
      void stopAll();
      return;
    }
    work(ctx, message.options).then(
      (result) => tell({ type: 'result', result }),
      (error: unknown) => {
        tell({ type: 'error', message: error instanceof Error ? error.message : String(error) });
        void stopAll();
      },
    );
  });
  process.on('disconnect', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());
  // Ctrl-C reaches the whole process group; the bench decides when this process stops.
  process.on('SIGINT', () => {});
  if (!process.send) {
    process.stderr.write(`${name} is started by bench/run.ts (it needs an IPC channel)\n`);
    process.exit(2);
  }
}
