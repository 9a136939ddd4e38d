/**
 * The cost model's arithmetic, checked by hand: each expected figure below is worked out in the
 * comment beside it from the prices of `cost/prices.ts` and the rules in `cost/model.ts`.
 */
import { describe, expect, it } from 'vitest';
import { benchFacts, readBenchResults } from '../../cost/bench-facts.js';
import {
  type BenchFacts,
  clientLines,
  DEFAULT_SCENARIO,
  DEPLOYED_STACK,
  goals,
  keepAlive,
  monthlyBill,
  publishedEvent,
  recoveryReadUnits,
  stackLines,
  subscriberQueryReadUnits,
  sweepPerConnection,
  usdOf,
} from '../../cost/model.js';
import { PRICES, priceOf } from '../../cost/prices.js';

const facts: BenchFacts = { subscriptionItemBytes: 166, storedEventBytes: 327.68, msPerDelivery: 0.4 };

describe('prices', () => {
  it('price a quantity by its unit', () => {
    // 43.2 M connection-minutes at $0.25 per million.
    expect(priceOf('connectionMinute', 43_200_000)).toBeCloseTo(10.8, 10);
    // 10,000 Secrets Manager calls at $0.05 per 10,000.
    expect(priceOf('secretApiCall', 10_000)).toBeCloseTo(0.05, 10);
  });

  it('name a source and a unit for every price', () => {
    for (const price of Object.values(PRICES)) {
      expect(price.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(price.unit.length).toBeGreaterThan(0);
    }
  });
});

describe('operations', () => {
  it('cost a one-way keep-alive as one message, and a ping as two and an invocation, no table', () => {
    // Act
    const oneWay = keepAlive('one-way');
    const ping = keepAlive('ping');
    // Assess: 5 ms at 256 MB is 0.00125 GB-s.
    expect(oneWay).toEqual({ messages: 1 });
    expect(ping).toEqual({ messages: 2, lambdaRequests: 1, lambdaGbSeconds: 0.00125 });
    // $2 + $0.20 + 0.00125 × $13.3334, per million.
    expect(usdOf(ping) * 1e6).toBeCloseTo(2 + 0.2 + 0.0166668, 5);
  });

  it("cost the sweep per connection: its index entry read, one GET each run and the GET's right", () => {
    // Act
    const usage = sweepPerConnection(1000);
    // Assess: 43,200 runs × 1,000 × 100 B / 4 KB × ½ unit; 43.2 M GETs; 1 ms each at 256 MB;
    // a budget write per 100 GETs (the sweep's chunk at the default 4,000 a second).
    expect(usage.readUnits).toBeCloseTo((43_200 * 1000 * 100 * 0.5) / 4096, 6);
    expect(usage.writeUnits).toBeCloseTo(432_000, 6);
    expect(usage.managementCalls).toBe(43_200_000);
    expect(usage.lambdaGbSeconds).toBeCloseTo(43_200 * 1000 * 0.001 * 0.25, 6);
    expect(usdOf(usage)).toBeCloseTo(527_343.75 * 0.125e-6 + 432_000 * 0.625e-6 + 10_800 * 0.0000133334, 8);
  });

  it('read a channel of 100 subscribers in ⌈100 × 166 B / 4 KB⌉ = 5 units', () => {
    expect(subscriberQueryReadUnits(100, facts)).toBe(5);
    expect(subscriberQueryReadUnits(1, facts)).toBe(1);
  });

  it('share the counter, the Query, the receive and the delete among a batch', () => {
    // Act
    const busy = publishedEvent(100, 10, facts);
    // Assess: 1 + 5/10 read units, 2 + 1/10 write units, 1 + 2/10 SQS requests.
    expect(busy.readUnits).toBeCloseTo(1.5, 10);
    expect(busy.writeUnits).toBeCloseTo(2.1, 10);
    expect(busy.sqsRequests).toBeCloseTo(1.2, 10);
    expect(busy.messages).toBe(100);
    expect(busy.customEvents).toBe(1);
    // One tenth of an invocation of 30 ms + 10 × 100 × 0.4 ms at 512 MB: 43 ms × 0.5 GB per event.
    expect(busy.lambdaRequests).toBeCloseTo(0.1, 10);
    expect(busy.lambdaGbSeconds).toBeCloseTo(((3 + 40) * 0.5) / 1000, 10);
  });

  it('reproduce every recovery the bench measured from the stored event size it implies', () => {
    // Prepare
    const results = readBenchResults();
    const measured = benchFacts(results);
    // Assess: one unit for the counter, then the replayed events at 4 KB a unit.
    for (const row of results.dynamoCost.history.recovery) {
      expect(recoveryReadUnits(row.events, measured)).toBe(row.read);
    }
  });
});

describe('a month', () => {
  it('bill 1,000 idle clients: minutes, keep-alives inside each connection, reconnects', () => {
    // Act
    const lines = clientLines(
      { ...DEFAULT_SCENARIO, clients: 1000, pingMinutes: 5, keepAlive: 'ping' },
      facts,
    );
    // Assess: 43.2 M minutes; 43.2 M / 115 connections × ⌊115 / 5⌋ = 23 keep-alives = 8.64 M.
    const [minutes, keepAlives] = lines;
    expect(minutes?.usd).toBeCloseTo(10.8, 10);
    expect(keepAlives?.usage.messages).toBeCloseTo(2 * 8_640_000, 3);
    expect(keepAlives?.usd).toBeCloseTo(8.64 * (2 + 0.2 + 0.0166668), 3);
  });

  it("bill the SDK's default: a one-way keep-alive every 9 minutes, 12 in each 115-minute connection", () => {
    // Act
    const [minutes, keepAlives] = clientLines({ ...DEFAULT_SCENARIO, clients: 1000 }, facts);
    // Assess: 43.2 M / 115 connections × ⌊115 / 9⌋ = 12 keep-alives, one message each.
    expect(minutes?.usd).toBeCloseTo(10.8, 10);
    expect(keepAlives?.usage).toEqual({ messages: (43_200_000 / 115) * 12 });
    expect(keepAlives?.usd).toBeCloseTo(4.5078, 4);
  });

  it('bill the idle stack: alarm metrics, dashboard, secret, long polls, sweep', () => {
    // Act
    const lines = stackLines(DEPLOYED_STACK);
    const byItem = Object.fromEntries(lines.map((l) => [l.item.split(' ')[0], l.usd]));
    const withDashboard = stackLines({ ...DEPLOYED_STACK, dashboards: 1 }).find((l) =>
      l.item.startsWith('dashboard'),
    );
    // Assess: 36 × $0.10; no dashboard by default ($3 with the `dashboard` prop); $0.40;
    // 2 × 5 pollers × 3 polls a minute × 43,200 min = 1.296 M × $0.40/M.
    expect(byItem.alarms).toBeCloseTo(3.6, 10);
    expect(byItem.dashboard).toBe(0);
    expect(withDashboard?.usd).toBeCloseTo(3, 10);
    expect(byItem.SQS).toBeCloseTo(0.5184, 10);
    // 43,200 runs: $0.20/M requests, 50 ms at 256 MB, 4 shard Queries at ½ unit.
    expect(byItem.sweep).toBeCloseTo(
      0.0432 * 0.2 + 43_200 * 0.0125 * 0.0000133334 + 43_200 * 2 * 0.125e-6,
      8,
    );
  });

  it('sum its lines into the total', () => {
    const bill = monthlyBill(
      { ...DEFAULT_SCENARIO, clients: 10_000, eventsPerSecond: 20 },
      facts,
      DEPLOYED_STACK,
    );
    expect(bill.total).toBeCloseTo(
      bill.lines.reduce((sum, l) => sum + l.usd, 0),
      10,
    );
  });

  it('price a million deliveries at 100 subscribers mostly as the posts themselves', () => {
    // Act
    const g = goals(DEFAULT_SCENARIO, facts, DEPLOYED_STACK);
    // Assess: $1 of posts + per event ($1 EventBridge + 1.2 × $0.40 SQS + 1.5 × $0.125 + 2.1 ×
    // $0.625 DynamoDB + Lambda) / 100.
    const perEvent = 1 + 0.48 + 0.1875 + 1.3125 + 0.1 * 0.2 + 0.0215 * 13.3334;
    expect(g.perMillionDeliveriesBusy).toBeCloseTo(1 + perEvent / 100, 6);
  });
});
