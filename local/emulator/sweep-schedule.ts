/**
 * The sweep's EventBridge schedule: every `intervalSeconds`, the sweep function gets a
 * `Scheduled Event`. Unlike EventBridge, a tick is skipped while the previous run is still going,
 * so runs never overlap locally.
 */

import { type LocalLog, silentLog } from '../log.js';
import { eventTime, uuid } from './aws-ids.js';
import type { LocalFunction } from './lambda-runtime.js';

export interface SweepScheduleProps {
  readonly sweep: LocalFunction;
  /** The period (the local stack passes `SWITCHBOARD_SWEEP_INTERVAL_SECONDS`, or the settings table's default). */
  readonly intervalSeconds: number;
  /** @default 'local' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly account?: string;
  /** @default silent */
  readonly log?: LocalLog;
}

export interface SweepSchedule {
  /** Runs the sweep now (or joins the run in progress); never rejects, failures are logged. */
  runNow(): Promise<void>;
  /** Stops the schedule and waits for a run in progress. Idempotent. */
  close(): Promise<void>;
}

/** The envelope of a scheduled rule's event. */
export function scheduledEvent(props: {
  readonly region: string;
  readonly account: string;
  readonly now?: Date;
}) {
  return {
    version: '0',
    id: uuid(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: props.account,
    time: eventTime(props.now ?? new Date()),
    region: props.region,
    resources: [`arn:aws:events:${props.region}:${props.account}:rule/switchboard-sweep`],
    detail: {},
  };
}

export function startSweepSchedule(props: SweepScheduleProps): SweepSchedule {
  const log = props.log ?? silentLog;
  const region = props.region ?? 'local';
  const account = props.account ?? '000000000000';
  let running: Promise<void> | undefined;
  let closed = false;

  const runNow = (): Promise<void> => {
    running ??= props.sweep
      .invoke(scheduledEvent({ region, account }))
      .then(
        () => log.debug('sweep done'),
        (error: unknown) => log.error('sweep failed', error),
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const timer = setInterval(() => {
    if (!closed && !running) void runNow();
  }, props.intervalSeconds * 1000);

  return {
    runNow,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
