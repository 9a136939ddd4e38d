/**
 * The big-channel stage's own process (see `big-channel.ts` for why it needs one): started by the
 * bench with the quota and the budget in its environment, it starts a stack and client workers of
 * its own, measures, sends the result, and stops everything it started. It stops when the bench
 * says `stop`, on SIGTERM, and when the bench goes away (IPC disconnect).
 */
import { type BenchStack, startBenchStack } from './bench-stack.js';
import { type BigChannelMessage, type BigChannelOptions, budgetOf } from './big-channel.js';
import { FanoutLog, measureBigChannel } from './big-channel-measure.js';
import { ClientPool } from './client-pool.js';
import { BenchAbortedError, type BenchContext, within } from './context.js';

function tell(message: BigChannelMessage): void {
  if (process.connected) process.send?.(message);
}

const controller = new AbortController();
let stack: BenchStack | undefined;
let pool: ClientPool | undefined;
let stopping: Promise<void> | undefined;

function stop(): Promise<void> {
  stopping ??= (async () => {
    controller.abort(new BenchAbortedError('the bench stopped the big-channel stage'));
    await pool?.stop().catch(() => {});
    await (stack ? within(stack.close(), 45_000, 'stopping the local stack') : Promise.resolve()).catch(
      () => {},
    );
    process.exit(0);
  })();
  return stopping;
}

async function run(options: BigChannelOptions): Promise<void> {
  const budget = budgetOf(options);
  if (process.env.SWITCHBOARD_CALLBACKS_PER_SECOND !== String(budget)) {
    throw new Error(`SWITCHBOARD_CALLBACKS_PER_SECOND must be ${budget} in this process's environment`);
  }
  const ctx: BenchContext = {
    signal: controller.signal,
    progress: {
      update: (fraction, detail) =>
        tell({ type: 'update', fraction, ...(detail !== undefined ? { detail } : {}) }),
      log: (line) => tell({ type: 'log', line }),
    },
    warn: (message) => tell({ type: 'warn', message }),
  };
  const fanoutLog = new FanoutLog();
  tell({ type: 'phase', name: 'big channel: stack' });
  stack = await within(
    startBenchStack({ fanoutTimeoutMs: options.fanoutTimeoutSeconds * 1000, onLine: fanoutLog.onLine }),
    120_000,
    'starting the big-channel stack',
    controller.signal,
  );
  pool = await ClientPool.start(options.workers, controller.signal);
  const result = await measureBigChannel(ctx, stack, pool, fanoutLog, options, (name) =>
    tell({ type: 'phase', name }),
  );
  tell({ type: 'result', result });
}

process.on('message', (raw) => {
  const message = raw as { op: 'run'; options: BigChannelOptions } | { op: 'stop' };
  if (message.op === 'stop') {
    void stop();
    return;
  }
  run(message.options).catch((error: unknown) => {
    tell({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    void stop();
  });
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
// Ctrl-C reaches the whole process group; the bench decides when this process stops.
process.on('SIGINT', () => {});
if (!process.send) {
  process.stderr.write('big-channel-process.ts is started by bench/run.ts (it needs an IPC channel)\n');
  process.exit(2);
}
