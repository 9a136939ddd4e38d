/**
 * The client-publish stage's one-connection scenario, in a process of its own (see
 * `client-publish.ts` for why): a stack with the handlers' default per-connection limit, one client
 * worker, one client publishing past that limit.
 */
import { HANDLER_SETTINGS } from '../adapters/handler-settings.js';
import { type BenchStack, startBenchStack } from './bench-stack.js';
import { ClientPool } from './client-pool.js';
import { measureOneConnection } from './client-publish.js';
import { within } from './context.js';
import { serveOwnProcess } from './own-process.js';

let stack: BenchStack | undefined;
let pool: ClientPool | undefined;

serveOwnProcess(
  'client-publish-limit-process.ts',
  async (ctx) => {
    const rateLimit = {
      burst: HANDLER_SETTINGS.rateLimitBurst.default,
      perSecond: HANDLER_SETTINGS.rateLimitPerSecond.default,
    };
    ctx.progress.update(0, 'one connection: starting a stack with the default rate limit');
    stack = await within(
      startBenchStack({ rateLimit }),
      120_000,
      'starting the rate-limit stack',
      ctx.signal,
    );
    pool = await ClientPool.start(1, ctx.signal);
    return measureOneConnection(ctx, stack, pool, rateLimit);
  },
  async () => {
    await pool?.stop().catch(() => {});
    if (stack) await within(stack.close(), 45_000, 'stopping the rate-limit stack');
  },
);
