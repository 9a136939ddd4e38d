/**
 * `npm run cost -- --clients 10000 --events-per-second 20 --subscribers 100 [--ping-minutes 9]
 * [--batch 10] [--channels 1] [--replayed 0] [--keepalive one-way|ping]`: the monthly bill of the
 * current design by line item, from the one price table (`cost/prices.ts`) and the bench's
 * measurements (`bench/results.json`). `--prices` lists the prices and their sources;
 * `--markdown` rewrites the generated cost tables of `docs/cost.md`; `--json` prints the bill as JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { benchFacts, readBenchResults } from '../cost/bench-facts.js';
import { DEFAULT_SCENARIO, DEPLOYED_STACK, goals, monthlyBill, type Scenario } from '../cost/model.js';
import { costDocBlocks, replaceBlocks, textBill, textPrices } from '../cost/report.js';

const COST_DOC = new URL('../docs/cost.md', import.meta.url);

const { values } = parseArgs({
  options: {
    clients: { type: 'string' },
    'events-per-second': { type: 'string' },
    subscribers: { type: 'string' },
    'ping-minutes': { type: 'string' },
    batch: { type: 'string' },
    channels: { type: 'string' },
    replayed: { type: 'string' },
    keepalive: { type: 'string' },
    prices: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

const number = (min: number, max: number) => z.coerce.number().min(min).max(max);
const scenarioSchema = z.object({
  clients: number(0, 1e9).default(DEFAULT_SCENARIO.clients),
  eventsPerSecond: number(0, 1e6).default(DEFAULT_SCENARIO.eventsPerSecond),
  subscribers: number(1, 1e7).int().default(DEFAULT_SCENARIO.subscribers),
  // Inside API Gateway's 10-minute idle timeout.
  pingMinutes: number(0.5, 9.9).default(DEFAULT_SCENARIO.pingMinutes),
  batch: number(1, 10).default(DEFAULT_SCENARIO.batch),
  channelsPerClient: number(0, 100).int().default(DEFAULT_SCENARIO.channelsPerClient),
  replayedPerResubscribe: number(0, 1000).int().default(DEFAULT_SCENARIO.replayedPerResubscribe),
  keepAlive: z.enum(['ping', 'one-way']).default(DEFAULT_SCENARIO.keepAlive),
});

function scenarioFromArgs(): Scenario {
  const parsed = scenarioSchema.safeParse({
    clients: values.clients,
    eventsPerSecond: values['events-per-second'],
    subscribers: values.subscribers,
    pingMinutes: values['ping-minutes'],
    batch: values.batch,
    channelsPerClient: values.channels,
    replayedPerResubscribe: values.replayed,
    keepAlive: values.keepalive,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    console.error(`npm run cost: --${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
    process.exit(2);
  }
  return parsed.data;
}

const facts = benchFacts(readBenchResults());
if (values.prices) {
  console.log(textPrices());
} else if (values.markdown) {
  const before = readFileSync(COST_DOC, 'utf8');
  const after = replaceBlocks(before, costDocBlocks(facts, DEPLOYED_STACK));
  if (after !== before) writeFileSync(COST_DOC, after);
  console.log(
    after === before ? 'docs/cost.md: cost tables already current' : 'docs/cost.md: cost tables rewritten',
  );
} else {
  const scenario = scenarioFromArgs();
  const bill = monthlyBill(scenario, facts, DEPLOYED_STACK);
  const goalFigures = goals(scenario, facts, DEPLOYED_STACK);
  console.log(
    values.json ? JSON.stringify({ ...bill, goals: goalFigures }, null, 2) : textBill(bill, goalFigures),
  );
}
