/**
 * The measured inputs of the cost model, read from the bench's last results (`bench/results.json`,
 * written by `npm run bench`): the stored sizes DynamoDB bills reads by, and the publish
 * function's time per delivery. A newer bench run changes the model's figures with it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { BenchFacts } from './model.js';

export const BENCH_RESULTS = new URL('../bench/results.json', import.meta.url);

const resultsSchema = z.object({
  startedAt: z.string(),
  dynamoCost: z.object({
    itemBytes: z.object({ subscription: z.number().positive() }),
    history: z.object({
      recovery: z
        .array(z.object({ events: z.number().int().positive(), read: z.number().positive() }))
        .min(1),
    }),
  }),
  fanOut: z.object({
    sizes: z
      .array(
        z.object({
          subscribers: z.number().int().positive(),
          switchboard: z.object({ timeToAllMs: z.object({ p50: z.number().positive() }) }),
        }),
      )
      .min(1),
  }),
});

export type BenchResults = z.infer<typeof resultsSchema>;

export class BenchFactsError extends Error {
  override readonly name = 'BenchFactsError';
}

/**
 * The facts of one results file. The stored event size is the largest that reproduces every
 * measured recovery (1 unit for the counter, then 4 KB per unit of replayed events); the time per
 * delivery comes from the largest fan-out measured, where per-event overhead weighs least.
 */
export function benchFacts(results: BenchResults): BenchFacts {
  const recovery = results.dynamoCost.history.recovery;
  const largest = recovery.reduce((a, b) => (b.events > a.events ? b : a));
  const storedEventBytes = ((largest.read - 1) * 4096) / largest.events;
  const fanOut = results.fanOut.sizes.reduce((a, b) => (b.subscribers > a.subscribers ? b : a));
  return {
    subscriptionItemBytes: results.dynamoCost.itemBytes.subscription,
    storedEventBytes,
    msPerDelivery: fanOut.switchboard.timeToAllMs.p50 / fanOut.subscribers,
  };
}

export function readBenchResults(file: URL = BENCH_RESULTS): BenchResults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BenchFactsError(`cannot read ${file.pathname}: run npm run bench first`, { cause: error });
  }
  const parsed = resultsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new BenchFactsError(
      `${file.pathname} lacks what the cost model reads (dynamoCost, fanOut): ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return parsed.data;
}
