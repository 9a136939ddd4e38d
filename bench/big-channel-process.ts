/**
 * The big-channel stage's own process (see `big-channel.ts` for why it needs one): started by the
 * bench with the quota and the budget in its environment, it starts a stack and client workers of
 * its own, measures, sends the result, and stops everything it started. It stops when the bench
 * says `stop`, on SIGTERM, and when the bench goes away (IPC disconnect): `own-process.ts`.
 */
import { type BenchStack, startBenchStack } from './bench-stack.js';
import { type BigChannelMessage, type BigChannelOptions, budgetOf } from './big-channel.js';
import { FanoutLog, measureBigChannel } from './big-channel-measure.js';
import { ClientPool } from './client-pool.js';
import { within } from './context.js';
import { serveOwnProcess } from './own-process.js';

function tell(message: BigChannelMessage): void {
  if (process.connected) process.send?.(message);
}

let stack: BenchStack | undefined;
let pool: ClientPool | undefined;

serveOwnProcess(
  'big-channel-process.ts',
  async (ctx, raw) => {
    const options = raw as BigChannelOptions;
    const budget = budgetOf(options);
    if (process.env.SWITCHBOARD_CALLBACKS_PER_SECOND !== String(budget)) {
      throw new Error(`SWITCHBOARD_CALLBACKS_PER_SECOND must be ${budget} in this process's environment`);
    }
    const fanoutLog = new FanoutLog();
    tell({ type: 'phase', name: 'big channel: stack' });
    stack = await within(
      startBenchStack({ fanoutTimeoutMs: options.fanoutTimeoutSeconds * 1000, onLine: fanoutLog.onLine }),
      120_000,
      'starting the big-channel stack',
      ctx.signal,
    );
    pool = await ClientPool.start(options.workers, ctx.signal);
    return measureBigChannel(ctx, stack, pool, fanoutLog, options, (name) => tell({ type: 'phase', name }));
  },
  async () => {
    await pool?.stop().catch(() => {});
    if (stack) await within(stack.close(), 45_000, 'stopping the local stack');
  },
);
