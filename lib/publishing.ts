/**
 * `SwitchboardPublishing`: how services publish. The event bus (Switchboard's own, or the one
 * given), the rule that matches Switchboard events on it (`adapters/event-pattern.ts`) and the
 * `PublishPipeline` that carries them to the publish handler; and who may put events there
 * (`grantPublish`).
 *
 *   PutEvents ──▶ event bus ──▶ publish rule ──▶ PublishPipeline (queue ──▶ publish handler)
 *
 * Built in the `SwitchboardApi`'s scope (see `SwitchboardPart`): the bus and the queue predate
 * this construct, and the queue's id is where queued events wait.
 */
import { type Duration, Token } from 'aws-cdk-lib';
import { EventBus, type EventPattern, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { switchboardEventPattern } from '../adapters/event-pattern.js';
import { PublishPipeline } from './publish-pipeline.js';
import { SwitchboardPropsError } from './switchboard-api-props.js';
import { SwitchboardPart } from './switchboard-part.js';

export interface SwitchboardPublishingProps {
  /** An existing bus to listen on; none is created then. */
  readonly eventBus?: IEventBus;
  /** Accepted event sources (`Source`). @default - any */
  readonly eventSources?: readonly string[];
  /** The tenants each source may publish to. @default - no restriction */
  readonly sourceTenants?: Readonly<Record<string, readonly string[]>>;
  /** The publish handler, which consumes the publish queue. */
  readonly publishFunction: IFunction;
  readonly deadLetterQueue: IQueue;
  /** How long EventBridge keeps retrying to queue an event. */
  readonly maxEventAge: Duration;
  /** The publish handler's reserved concurrency: the queue mapping's maximum concurrency. */
  readonly maxConcurrency: number;
}

export class SwitchboardPublishing extends SwitchboardPart {
  readonly eventBus: IEventBus;
  readonly rule: Rule;
  readonly pipeline: PublishPipeline;
  /** The sources the rule accepts (`eventSources`); undefined: any. */
  readonly #eventSources: readonly string[] | undefined;

  constructor(scope: Construct, id: string, props: SwitchboardPublishingProps) {
    super(scope, id);
    this.#eventSources = props.eventSources;
    // Publishing is explicit: a bus of its own, on which only granted principals can put events.
    this.eventBus =
      props.eventBus ??
      // (A cast: CDK's own types do not follow exactOptionalPropertyTypes.)
      (this.own(
        new EventBus(this.home, 'EventBus', { description: 'Switchboard: PutEvents here to publish' }),
      ) as IEventBus);
    this.rule = this.own(
      new Rule(this.home, 'PublishRule', {
        eventBus: this.eventBus,
        description: 'Switchboard: events with a channel (or channels) go to the publish handler',
        // The local PutEvents endpoint applies the same pattern (adapters/event-pattern.ts).
        eventPattern: switchboardEventPattern({
          ...(props.eventSources ? { sources: props.eventSources } : {}),
          ...(props.sourceTenants ? { sourceTenants: props.sourceTenants } : {}),
        }) as EventPattern,
      }),
    );
    this.pipeline = this.own(
      new PublishPipeline(this.home, 'PublishPipeline', {
        rule: this.rule,
        publishFunction: props.publishFunction,
        deadLetterQueue: props.deadLetterQueue,
        maxEventAge: props.maxEventAge,
        maxConcurrency: props.maxConcurrency,
      }),
    );
  }

  /** See `ISwitchboardApi.grantPublish`. */
  grantPublish(grantee: IGrantable, sources?: readonly string[]): Grant {
    if (sources === undefined) return this.eventBus.grantPutEventsTo(grantee);
    if (sources.length === 0) {
      throw new SwitchboardPropsError('SwitchboardApi.grantPublish: sources must list at least one source');
    }
    // The grant would work, and the rule would drop every event of such a source: refused here.
    const accepted = this.#eventSources;
    const refused = accepted
      ? sources.filter((source) => !Token.isUnresolved(source) && !accepted.includes(source))
      : [];
    if (refused.length > 0) {
      throw new SwitchboardPropsError(
        `SwitchboardApi.grantPublish: ${refused.map((s) => JSON.stringify(s)).join(', ')} ${refused.length === 1 ? 'is' : 'are'} not among the eventSources the stack accepts (${accepted?.join(', ')}): its events would be dropped by the publish rule; add it to eventSources or grant one of them`,
      );
    }
    return Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.eventBus.eventBusArn],
      conditions: { StringEquals: { 'events:source': [...sources] } },
    });
  }
}
