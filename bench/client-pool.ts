/** The bench's side of the client workers (`client-worker.ts`): start, ask, stop. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StageError, within } from './context.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

const WORKER_FILE = fileURLToPath(new URL('./client-worker.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

class Worker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly stderr: string[] = [];
  exited: string | undefined;
  readonly done: Promise<void>;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.stderr.splice(0, Math.max(0, this.stderr.length - 20));
    });
    child.stdout?.resume();
    child.on('message', (raw) => {
      const message = raw as WorkerReply;
      if (typeof message !== 'object' || message === null || !('rid' in message)) return;
      const pending = this.pending.get(message.rid);
      if (!pending) return;
      this.pending.delete(message.rid);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new StageError(`client worker ${this.index}: ${message.error}`));
    });
    this.done = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = signal ?? `code ${code}`;
        const tail = this.stderr.join('\n  ');
        const error = new StageError(
          `client worker ${this.index} (pid ${child.pid}) exited (${this.exited})${tail ? `:\n  ${tail}` : ''}`,
        );
        for (const pending of this.pending.values()) pending.reject(error);
        this.pending.clear();
        resolve();
      });
    });
  }

  call<R>(request: WorkerRequest): Promise<R> {
    if (this.exited !== undefined) {
      return Promise.reject(new StageError(`client worker ${this.index} has exited (${this.exited})`));
    }
    const rid = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(rid, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...request, rid }, (error) => {
        if (!error) return;
        this.pending.delete(rid);
        reject(new StageError(`client worker ${this.index}: cannot send ${request.op}: ${error.message}`));
      });
    });
  }

  stderrTail(): string {
    return this.stderr.join('\n  ');
  }
}

/** Child processes holding the `ws` clients; client `i` lives in worker `i % size`. */
export class ClientPool {
  private stopping: Promise<void> | undefined;

  private constructor(private readonly workers: readonly Worker[]) {}

  static async start(size: number, signal: AbortSignal): Promise<ClientPool> {
    const workers: Worker[] = [];
    const pool = new ClientPool(workers);
    try {
      for (let index = 0; index < size; index++) {
        const child = fork(WORKER_FILE, [], {
          execArgv: ['--import', 'tsx'],
          // Structured clone: typed arrays of receipt times cross without JSON.
          serialization: 'advanced',
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        });
        const worker = new Worker(index, child);
        workers.push(worker);
        const ready = new Promise<void>((resolve, reject) => {
          child.once('message', () => resolve());
          void worker.done.then(() =>
            reject(new StageError(`client worker ${index} exited during startup:\n  ${worker.stderrTail()}`)),
          );
        });
        await within(ready, START_TIMEOUT_MS, `client worker ${index} did not start`, signal);
      }
      return pool;
    } catch (error) {
      await pool.stop();
      throw error;
    }
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.child.pid ?? 0);
  }

  workerOf(clientIndex: number): number {
    return clientIndex % this.workers.length;
  }

  call<R>(worker: number, request: WorkerRequest): Promise<R> {
    const target = this.workers[worker];
    if (!target) return Promise.reject(new StageError(`no client worker ${worker}`));
    return target.call<R>(request);
  }

  /** The same request (or one built per worker) to every worker, in parallel. */
  all<R>(request: WorkerRequest | ((worker: number) => WorkerRequest)): Promise<R[]> {
    return Promise.all(
      this.workers.map((worker) =>
        worker.call<R>(typeof request === 'function' ? request(worker.index) : request),
      ),
    );
  }

  /** Stops every worker (SIGTERM: it terminates its sockets), SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= Promise.all(
      this.workers.map(async (worker) => {
        if (worker.exited !== undefined) return;
        const force = setTimeout(() => worker.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        worker.child.kill('SIGTERM');
        await worker.done;
        clearTimeout(force);
      }),
    ).then(() => undefined);
    return this.stopping;
  }
}
