/** The shape of `bench/results.json`. */
import { existsSync, readFileSync } from 'node:fs';
import type { BundlesResult } from '../bin/bundle-report.js';
import type { CapturedLogs } from './bench-stack.js';
import type { BigChannelResult } from './big-channel.js';
import type { BurstResult } from './burst.js';
import type { ClientPublishResult } from './client-publish.js';
import type { ColdStartResult } from './cold-start.js';
import type { DynamoCostResult } from './dynamo-cost.js';
import type { FanOutResult } from './fan-out.js';
import type { FanoutSimResult } from './fanout-sim.js';
import type { MachineInfo } from './machine.js';
import type { PresenceCostResult } from './presence-cost.js';
import type { SmallChannelsResult } from './small-channels.js';
import type { SoakResult } from './soak.js';
import type { StatsCostResult } from './stats-cost.js';
import type { WildcardCostResult } from './wildcard-cost.js';

export const STAGES = [
  'cold-start',
  'dynamodb-cost',
  'stats-cost',
  'wildcard-cost',
  'presence-cost',
  'fan-out',
  'burst',
  'client-publish',
  'soak',
  'small-channels',
  'big-channel',
  'fanout-sim',
] as const;
export type StageName = (typeof STAGES)[number];

export interface BenchResults {
  readonly schema: 1;
  readonly mode: 'full' | 'quick';
  readonly stages: readonly StageName[];
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo & { readonly loadAverageAtEnd: readonly number[] };
  readonly method: {
    readonly clock: string;
    readonly stack: string;
    readonly clientWorkers: number;
    readonly publishConcurrency: number;
  };
  readonly stack:
    | {
        readonly startSeconds: number;
        readonly rssMiBAfterStart: number;
        readonly logs: CapturedLogs;
      }
    | undefined;
  readonly coldStart: ColdStartResult | undefined;
  readonly dynamoCost: DynamoCostResult | undefined;
  /** What the admin `stats` reads, now and as it was before issue 10. */
  readonly statsCost?: StatsCostResult | undefined;
  /** The DynamoDB requests and units of a publish to a channel with wildcard subscribers (issue 13). */
  readonly wildcardCost?: WildcardCostResult | undefined;
  /** DynamoDB requests and units of a presence join, leave and request (issue 13). */
  readonly presenceCost?: PresenceCostResult | undefined;
  readonly fanOut: FanOutResult | undefined;
  readonly burst: BurstResult | undefined;
  /** Client publish (PROTOCOL §8): round trip beside a service publish, and under load (issue 13). */
  readonly clientPublish?: ClientPublishResult | undefined;
  readonly soak: SoakResult | undefined;
  /** Big channels and broadcast under a callback quota (issue 12), in a stack of their own. */
  readonly bigChannel: BigChannelResult | undefined;
  /** The fan-out's arithmetic at a million subscribers, on simulated time (issue 12). */
  readonly fanoutSim: FanoutSimResult | undefined;
  /** 1-, 100- and 1,000-subscriber fan-out, the last commit before big channels against the working tree, same run (issue 12). */
  readonly smallChannels: SmallChannelsResult | undefined;
  readonly warnings: readonly string[];
  /** Written by `npm run bundle-report -- --record`, not by the bench, which keeps it as it is. */
  readonly bundles?: BundlesResult;
}

/** The `bundles` section already in `file`, for the bench to keep when it rewrites the file. */
export function recordedBundles(file: string): BundlesResult | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { bundles?: BundlesResult }).bundles;
  } catch {
    return undefined;
  }
}
