/**
 * `SwitchboardSweep`: the schedule that runs the sweep handler (`lambdas/sweep.ts`), which closes
 * and removes stale connections. A missed sweep is made up by the next one: no retries that could
 * overlap it, neither from the rule's target nor from Lambda's asynchronous invocation. The
 * function runs one at a time (reserved concurrency 1, `lambdas/handlers.ts`): an event that
 * finds a run still going is throttled, kept by Lambda at most a period, then dropped.
 *
 * Built in the `SwitchboardApi`'s scope (see `SwitchboardPart`): its ids predate this construct.
 */
import type { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { SwitchboardPart } from './switchboard-part.js';

export interface SwitchboardSweepProps {
  /** The sweep handler. */
  readonly sweepFunction: IFunction;
  /** How often it runs; also how long a missed run's event may wait. */
  readonly period: Duration;
}

export class SwitchboardSweep extends SwitchboardPart {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SwitchboardSweepProps) {
    super(scope, id);
    this.rule = this.own(
      new Rule(this.home, 'SweepSchedule', {
        description: 'Switchboard: close and remove stale connections',
        schedule: Schedule.rate(props.period),
      }),
    );
    this.rule.addTarget(
      new LambdaFunction(props.sweepFunction, { retryAttempts: 0, maxEventAge: props.period }),
    );
    props.sweepFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: props.period });
  }
}
