/**
 * Judging client publishes (PROTOCOL §8): what the clients received against what the `published`
 * replies accepted, and the paced round trip of a client publish beside a service's `PutEvents`.
 * Pure, so it can be checked without sockets; the client-publish stage calls it.
 */
import { type BurstJudgement, judgeBurst, type PutEvent } from './burst-judge.js';
import { round, roundSummary, type Summary, summarize } from './stats.js';
import type { RequestResult, TrackedReceipts } from './worker-protocol.js';

export interface ClientPublishJudgement extends BurstJudgement {
  /** Publishes answered `published` (their event ids are what `expected` counts). */
  readonly accepted: number;
  /** Publishes refused, by error code (e.g. `rate_limited`). */
  readonly refused: Readonly<Record<string, number>>;
  /**
   * Distinct events received that no `published` reply named: a refused publish that was
   * delivered anyway (every event of a scenario carries its tag, so nothing else can be one).
   */
  readonly refusedDelivered: number;
}

/**
 * The events the `published` replies accepted, as `judgeBurst` takes them: latency counts from
 * just before the request left the client (`sentAt`), not from the reply.
 */
export function acceptedEvents(results: readonly RequestResult[]): PutEvent[] {
  return results.flatMap((result) =>
    Object.values(result.published).flatMap((list) =>
      list.map((reply) => ({ id: reply.eventId, channel: reply.channel, acceptedAt: reply.sentAt })),
    ),
  );
}

/**
 * `results`: the request op's answers (one per worker); `audience`: the client keys subscribed to
 * each channel; `receipts`: the tracked receipts of the scenario's tag, one per worker.
 */
export function judgeClientPublish(
  results: readonly RequestResult[],
  audience: ReadonlyMap<string, readonly string[]>,
  receipts: readonly TrackedReceipts[],
): ClientPublishJudgement {
  const events = acceptedEvents(results);
  const refused: Record<string, number> = {};
  for (const result of results) {
    for (const list of Object.values(result.refused)) {
      for (const reply of list) refused[reply.code] = (refused[reply.code] ?? 0) + 1;
    }
  }
  const known = new Set(events.map((event) => event.id));
  const strangers = new Set<string>();
  for (const r of receipts) for (const id of r.ids) if (!known.has(id)) strangers.add(id);
  return {
    ...judgeBurst(events, audience, receipts),
    accepted: events.length,
    refused,
    refusedDelivered: strangers.size,
  };
}

export interface RoundTripComparison {
  /** Client publish sent → that client's receipt, ms. */
  readonly client: Summary;
  /** Just before `PutEvents` → the subscriber's receipt, ms. */
  readonly service: Summary;
  /** Client over service, at each percentile (above 1: the client publish takes longer). */
  readonly ratio: { readonly p50: number; readonly p95: number; readonly p99: number };
}

export function compareRoundTrips(
  client: ArrayLike<number>,
  service: ArrayLike<number>,
): RoundTripComparison {
  const c = summarize(client);
  const s = summarize(service);
  const over = (a: number, b: number) => (b > 0 ? round(a / b, 2) : Number.NaN);
  return {
    client: roundSummary(c),
    service: roundSummary(s),
    ratio: { p50: over(c.p50, s.p50), p95: over(c.p95, s.p95), p99: over(c.p99, s.p99) },
  };
}
