/**
 * Small channels stay as fast (issue 12 item 6): the fan-out stage's 1-, 100- and 1,000-subscriber
 * times against those of the last bench before big channels (`small-channels-baseline.json`).
 *
 * Raw milliseconds of two runs on a shared 2-core machine differ by the machine's load more than
 * by the code (the bare floor alone moved by 1.5× between two runs of the same commit). So each
 * run's Switchboard time is taken relative to the bare `PostToConnection` floor measured in the
 * same run, on the same event loop, in alternating rounds (`fan-out.ts`): that ratio is what is
 * compared, and the raw figures are shown beside it.
 */
import { readFileSync } from 'node:fs';
import type { FanOutResult } from './fan-out.js';
import { round } from './stats.js';

/** One size of the baseline run. */
interface BaselineSize {
  readonly subscribers: number;
  readonly latencyP50Ms: number;
  readonly timeToAllP50Ms: number;
  readonly floorTimeToAllP50Ms: number;
  /** Switchboard's time to all subscribers over the floor's, p50 of each, same run. */
  readonly timeToAllOverFloor: number;
}

export interface SmallChannelBaseline {
  readonly commit: string;
  readonly startedAt: string;
  readonly mode: string;
  readonly sizes: readonly BaselineSize[];
}

export interface SmallChannelComparison {
  /** The run compared with: the last full bench before big channels. */
  readonly baseline: { readonly commit: string; readonly startedAt: string; readonly mode: string };
  readonly sizes: readonly {
    readonly subscribers: number;
    readonly latencyP50Ms: { readonly before: number; readonly now: number };
    readonly timeToAllP50Ms: { readonly before: number; readonly now: number };
    readonly floorTimeToAllP50Ms: { readonly before: number; readonly now: number };
    /** Time to all subscribers over the same run's floor, before and now. */
    readonly timeToAllOverFloor: { readonly before: number; readonly now: number };
    /** now / before − 1 of `timeToAllOverFloor`: goal ≤ 0.10. */
    readonly change: number;
    readonly goalMet: boolean;
  }[];
}

export const SMALL_CHANNEL_SIZES = [1, 100, 1000] as const;

export function readSmallChannelBaseline(): SmallChannelBaseline {
  return JSON.parse(
    readFileSync(new URL('./small-channels-baseline.json', import.meta.url), 'utf8'),
  ) as SmallChannelBaseline;
}

/** This run's small-channel fan-out against the baseline, each relative to its own run's floor. */
export function compareSmallChannels(
  baseline: SmallChannelBaseline,
  now: FanOutResult | undefined,
): SmallChannelComparison | undefined {
  if (!now) return undefined;
  const sizes = SMALL_CHANNEL_SIZES.flatMap((subscribers) => {
    const before = baseline.sizes.find((s) => s.subscribers === subscribers);
    const after = now.sizes.find((s) => s.subscribers === subscribers);
    if (!before || !after) return [];
    const change = round(after.ratio.timeToAllP50 / before.timeToAllOverFloor - 1, 3);
    return [
      {
        subscribers,
        latencyP50Ms: { before: before.latencyP50Ms, now: after.switchboard.latencyMs.p50 },
        timeToAllP50Ms: { before: before.timeToAllP50Ms, now: after.switchboard.timeToAllMs.p50 },
        floorTimeToAllP50Ms: { before: before.floorTimeToAllP50Ms, now: after.floor.timeToAllMs.p50 },
        timeToAllOverFloor: { before: before.timeToAllOverFloor, now: after.ratio.timeToAllP50 },
        change,
        goalMet: change <= 0.1,
      },
    ];
  });
  const { commit, startedAt, mode } = baseline;
  return { baseline: { commit, startedAt, mode }, sizes };
}
