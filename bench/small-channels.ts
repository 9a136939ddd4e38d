/**
 * Small channels stay as fast (issue 12 item 6): the fan-out stage's 1-, 100- and 1,000-subscriber
 * latencies of this run against the results it replaces, with both runs' bare PostToConnection
 * floor beside them, so that a change of the machine's load is not read as one of Switchboard's.
 */
import type { FanOutResult } from './fan-out.js';
import { round } from './stats.js';

export interface SmallChannelComparison {
  /** The results this run is compared with (the ones committed in bench/results.json before it). */
  readonly previous: { readonly startedAt: string; readonly mode: string } | undefined;
  readonly sizes: readonly {
    readonly subscribers: number;
    readonly latencyP50Ms: { readonly previous: number; readonly now: number };
    readonly timeToAllP50Ms: { readonly previous: number; readonly now: number };
    /**
     * The bare PostToConnection floor of each run: how fast the machine itself posted then and
     * now, so that a change of the machine's load is not read as one of Switchboard's.
     */
    readonly floorDeliveriesPerSecond: { readonly previous: number; readonly now: number };
    /** now / previous − 1 of the latency p50: goal ≤ 0.10. */
    readonly change: number;
    readonly goalMet: boolean;
  }[];
}

/** The fan-out stage's 1-, 100- and 1,000-subscriber latencies of this run against the previous results. */
export function compareSmallChannels(
  previous: { startedAt: string; mode: string; fanOut?: FanOutResult | undefined } | undefined,
  now: FanOutResult | undefined,
): SmallChannelComparison | undefined {
  if (!now) return undefined;
  const sizes = [1, 100, 1000].flatMap((subscribers) => {
    const before = previous?.fanOut?.sizes.find((s) => s.subscribers === subscribers);
    const after = now.sizes.find((s) => s.subscribers === subscribers);
    if (!before || !after) return [];
    const change = round(after.switchboard.latencyMs.p50 / before.switchboard.latencyMs.p50 - 1, 3);
    return [
      {
        subscribers,
        latencyP50Ms: { previous: before.switchboard.latencyMs.p50, now: after.switchboard.latencyMs.p50 },
        timeToAllP50Ms: {
          previous: before.switchboard.timeToAllMs.p50,
          now: after.switchboard.timeToAllMs.p50,
        },
        floorDeliveriesPerSecond: {
          previous: before.floor.deliveriesPerSecond,
          now: after.floor.deliveriesPerSecond,
        },
        change,
        goalMet: change <= 0.1,
      },
    ];
  });
  return {
    previous: previous ? { startedAt: previous.startedAt, mode: previous.mode } : undefined,
    sizes,
  };
}
