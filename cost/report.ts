/**
 * The cost model as text: the terminal bill of `npm run cost`, and the cost tables of `docs/cost.md`,
 * which are generated (`npm run cost -- --markdown`) between markers so that they cannot drift from the
 * model (a test compares them).
 */
import {
  type BenchFacts,
  type Bill,
  clientLines,
  DEFAULT_SCENARIO,
  DESIGN,
  type Goals,
  goals,
  type Line,
  publishedEvent,
  type Scenario,
  type StackFacts,
  stackLines,
  usdOf,
} from './model.js';
import { CHECKED, PRICES } from './prices.js';

/** `$10.80`, `$0.004`, `$1,234`. */
export function usd(value: number): string {
  if (value === 0) return '$0';
  if (value >= 1000) return `$${Math.round(value).toLocaleString('en-US')}`;
  if (value >= 0.01) return `$${value.toFixed(2)}`;
  if (value >= 0.001) return `$${value.toFixed(3)}`;
  return '< $0.001';
}

/** A table with its columns padded, as the documentation's other tables are. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cells = (row: readonly string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [cells(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(cells)].join(
    '\n',
  );
}

const sum = (lines: readonly Line[]) => lines.reduce((total, l) => total + l.usd, 0);

/** The bill in the terminal: line items by group, the total, and the issue's goals. */
export function textBill(bill: Bill, goalFigures: Goals): string {
  const rows = bill.lines.map((l) => [l.group, l.item, l.quantity, usd(l.usd)]);
  const header = ['group', 'item', 'quantity', 'per month'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (row: readonly string[]) =>
    row.map((cell, i) => (i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ');
  const s = bill.scenario;
  return [
    `Switchboard, a 30-day month in us-east-1 at list prices (checked ${CHECKED}; sources: npm run cost -- --prices)`,
    `${s.clients.toLocaleString('en-US')} clients (${s.channelsPerClient} channel each, ${s.keepAlive} keep-alive every ${s.pingMinutes} min), ` +
      `${s.eventsPerSecond} events/s to channels of ${s.subscribers} subscribers, ${s.batch} events of a channel per batch`,
    '',
    format(header),
    ...rows.map(format),
    '',
    `total: ${usd(bill.total)} a month`,
    '',
    'goals (issue 15):',
    `  per 1,000 always-connected idle clients: ${usd(goalFigures.idleClientsPer1000)} a month (goal ≤ $16); of which connection-minutes and keep-alives ${usd(goalFigures.keepAliveFloorPer1000)}`,
    `  per million deliveries at 100 subscribers: ${usd(goalFigures.perMillionDeliveriesBusy)} busy (b = ${DESIGN.publishBatchSize}), ${usd(goalFigures.perMillionDeliveriesQuiet)} quiet (b = 1) (goal ≤ $1.10)`,
    `  idle stack (no clients, no events): ${usd(goalFigures.idleStack)} a month (goal ≤ $5)`,
    `  sweep per 1,000 connections: ${usd(goalFigures.sweepPer1000)} a month`,
  ].join('\n');
}

export function textPrices(): string {
  return [
    `Prices (us-east-1, list, checked ${CHECKED}):`,
    ...Object.entries(PRICES).map(
      ([name, p]) =>
        `  ${name}: $${p.usd} per ${p.per === 1 ? '' : `${p.per.toLocaleString('en-US')} `}${p.unit}  ${p.source}${'note' in p ? ` (${p.note})` : ''}`,
    ),
  ].join('\n');
}

/** The generated blocks of `docs/cost.md`, by marker name. */
export function costDocBlocks(facts: BenchFacts, stack: StackFacts): Record<string, string> {
  const idleScenario: Scenario = { ...DEFAULT_SCENARIO, clients: 1000, eventsPerSecond: 0 };
  const idle = clientLines(idleScenario, facts);
  const g = goals(idleScenario, facts, stack);
  const stackRows = stackLines(stack);

  const prices = markdownTable(
    ['price', 'us-east-1', 'source'],
    Object.values(PRICES).map((p) => [
      p.unit,
      `$${p.usd} per ${p.per === 1 ? 'unit' : p.per.toLocaleString('en-US')}${'note' in p ? ` (${p.note})` : ''}`,
      `[${new URL(p.source).hostname}${new URL(p.source).pathname}](${p.source})`,
    ]),
  );

  const idleTable = markdownTable(
    ['item', 'quantity', 'cost'],
    [
      ...idle.map((l) => [l.item, l.quantity, usd(l.usd)]),
      ['**total**', '', `**${usd(sum(idle))} per 1,000 clients per month**`],
    ],
  );

  const columns: [string, number, number][] = [
    ['N = 1, b = 1', 1, 1],
    [`N = 1, b = ${DESIGN.publishBatchSize}`, 1, DESIGN.publishBatchSize],
    ['N = 100, b = 1', 100, 1],
    [`N = 100, b = ${DESIGN.publishBatchSize}`, 100, DESIGN.publishBatchSize],
  ];
  const component = (label: string, pick: (u: ReturnType<typeof publishedEvent>) => number) => [
    label,
    ...columns.map(([, n, b]) => usd((pick(publishedEvent(n, b, facts)) * 1e6) / n)),
  ];
  const only = (u: ReturnType<typeof publishedEvent>, keys: (keyof typeof u)[]) =>
    usdOf(Object.fromEntries(keys.map((k) => [k, u[k] ?? 0])));
  const deliveries = markdownTable(
    ['per million deliveries', ...columns.map(([label]) => label)],
    [
      component('API Gateway posts', (u) => only(u, ['messages'])),
      component('EventBridge', (u) => only(u, ['customEvents'])),
      component('SQS (send; receive and delete per batch)', (u) => only(u, ['sqsRequests'])),
      component('Lambda publish', (u) => only(u, ['lambdaRequests', 'lambdaGbSeconds'])),
      component('DynamoDB (history, counter, subscriber Query)', (u) => only(u, ['readUnits', 'writeUnits'])),
      component('**total**', (u) => usdOf(u)),
    ],
  );

  const stackTable = markdownTable(
    ['item', 'quantity', 'cost'],
    [
      ...stackRows.map((l) => [l.item, l.quantity, usd(l.usd)]),
      ['**total**', '', `**${usd(sum(stackRows))} per month**`],
    ],
  );

  const goalsTable = markdownTable(
    ['goal (issue 15)', 'model', 'target'],
    [
      ['per 1,000 always-connected idle clients, a month', usd(g.idleClientsPer1000), '≤ $16'],
      [
        "… of which connection-minutes and keep-alives (API Gateway's floor)",
        usd(g.keepAliveFloorPer1000),
        '≤ $16',
      ],
      [
        `per million deliveries, 100 subscribers (b = ${DESIGN.publishBatchSize} / b = 1)`,
        `${usd(g.perMillionDeliveriesBusy)} / ${usd(g.perMillionDeliveriesQuiet)}`,
        '≤ $1.10',
      ],
      ['idle stack (no clients, no events), a month', usd(g.idleStack), '≤ $5'],
      ['sweep, per 1,000 connections a month', usd(g.sweepPer1000), 'stated'],
    ],
  );

  return {
    prices: `Prices checked ${CHECKED}:\n\n${prices}`,
    'idle-clients': idleTable,
    deliveries: deliveries,
    'idle-stack': stackTable,
    goals: goalsTable,
  };
}

const begin = (name: string) => `<!-- cost:${name}:begin (generated: npm run cost -- --markdown) -->`;
const end = (name: string) => `<!-- cost:${name}:end -->`;

/** The document's text with every generated block replaced; throws on a missing marker. */
export function replaceBlocks(doc: string, blocks: Record<string, string>): string {
  let text = doc;
  for (const [name, body] of Object.entries(blocks)) {
    const from = text.indexOf(begin(name));
    const to = text.indexOf(end(name));
    if (from < 0 || to < from) throw new Error(`docs/cost.md has no ${begin(name)} … ${end(name)} block`);
    text = `${text.slice(0, from)}${begin(name)}\n\n${body}\n\n${text.slice(to)}`;
  }
  return text;
}

/** The generated blocks as the document holds them now, by name (for the drift test). */
export function currentBlocks(doc: string, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(
    names.map((name) => {
      const from = doc.indexOf(begin(name));
      const to = doc.indexOf(end(name));
      return [name, from < 0 || to < from ? undefined : doc.slice(from + begin(name).length, to).trim()];
    }),
  );
}
