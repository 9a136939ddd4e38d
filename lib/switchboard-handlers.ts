/**
 * `SwitchboardHandlers`: one `HandlerFunction` per entry of `lambdas/handlers.ts`, each with the
 * grants its `access` declares and nothing more (table read/write or write only, the secret, the
 * fan-out queue, `@connections`; the publish queue once it exists, `sendToPublishQueue`).
 *
 * Built in the `SwitchboardApi`'s scope (see `SwitchboardPart`): the ids of functions, roles and
 * log groups predate this construct.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../adapters/config.js';
import { HANDLER_LIST, TRIGGER_ENTRIES } from '../lambdas/handlers.js';
import { HandlerFunction } from './handler-function.js';
import { acknowledge, acknowledgeGrantWildcards } from './nag.js';
import { pascal, SwitchboardPart } from './switchboard-part.js';
import type { SwitchboardWebSocket } from './websocket-endpoint.js';

/** Why each cdk-nag finding on the handlers is acceptable (test/infra lists them all). */
export const HANDLER_NAG_REASONS = {
  tableIndexes:
    'CDK table grants cover the table and its indexes (<table>/index/*); the table has one index, `sweep` (keys only), and no other table is reachable.',
  connections:
    "ManageConnections on this stage's @connections only: connection ids exist only at run time, and the method segment covers POST (send), GET (status) and DELETE (close).",
  runtime:
    'Node.js 22 is pinned on purpose: bundles target node22 and the local stack runs the same handlers; a runtime upgrade is a tested change in lib/bundling.ts, not a drift.',
} as const;

export interface SwitchboardHandlersProps {
  /** The environment every handler gets (`handlerEnvironment`). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The publish handler's reserved concurrency (the other handlers' come from `lambdas/handlers.ts`). */
  readonly publishReservedConcurrency: number;
  // Concrete types: CDK's interfaces do not follow exactOptionalPropertyTypes.
  readonly table: Table;
  readonly authSecret: ISecret | Secret;
  readonly fanoutQueue: IQueue;
  /** The stage whose `@connections` the handlers that post get. */
  readonly webSocket: SwitchboardWebSocket;
}

export class SwitchboardHandlers extends SwitchboardPart {
  /** Every handler, by entry name (`lambdas/handlers.ts`). */
  readonly byEntry: Readonly<Record<string, HandlerFunction>>;

  constructor(scope: Construct, id: string, props: SwitchboardHandlersProps) {
    super(scope, id);
    const byEntry: Record<string, HandlerFunction> = {};
    for (const { entry, access, timeoutSeconds, memorySize, reservedConcurrency } of HANDLER_LIST) {
      const handler = this.own(
        new HandlerFunction(this.home, `${pascal(entry)}Handler`, {
          entry,
          environment: props.environment,
          logRetention: props.logRetention,
          removalPolicy: props.removalPolicy,
          // The local runtime enforces the same timeouts and concurrency (lambdas/handlers.ts).
          timeout: Duration.seconds(timeoutSeconds),
          memorySize,
          ...(entry === TRIGGER_ENTRIES.publish
            ? { reservedConcurrentExecutions: props.publishReservedConcurrency }
            : reservedConcurrency !== undefined
              ? { reservedConcurrentExecutions: reservedConcurrency }
              : {}),
        }),
      );
      const fn = handler.function;
      if (access.table !== 'none') {
        const grant =
          access.table === 'write' ? props.table.grantWriteData(fn) : props.table.grantReadWriteData(fn);
        acknowledgeGrantWildcards(grant, handler.role, HANDLER_NAG_REASONS.tableIndexes);
      }
      if (access.secret) props.authSecret.grantRead(fn);
      if (access.fanoutQueue) props.fanoutQueue.grantSendMessages(fn);
      if (access.manageConnections) {
        acknowledgeGrantWildcards(
          props.webSocket.grantManageConnections(fn),
          handler.role,
          HANDLER_NAG_REASONS.connections,
        );
      }
      acknowledge(fn, 'AwsSolutions-L1', HANDLER_NAG_REASONS.runtime);
      byEntry[entry] = handler;
    }
    this.byEntry = byEntry;
  }

  /** The function of a handler named in `lambdas/handlers.ts`. */
  functionOf(entry: string): HandlerFunction['function'] {
    const handler = this.byEntry[entry];
    if (!handler)
      throw new Error(`SwitchboardHandlers: no handler ${JSON.stringify(entry)} in lambdas/handlers.ts`);
    return handler.function;
  }

  /**
   * The message routes put client-published events on the publish queue, and every handler that
   * adds or removes subscriptions puts presence notices there (PROTOCOL §8): its URL and
   * `sqs:SendMessage` for each handler whose access names it.
   */
  sendToPublishQueue(queue: IQueue): void {
    for (const { entry, access } of HANDLER_LIST) {
      if (!access.publishQueue) continue;
      const fn = this.functionOf(entry);
      fn.addEnvironment(ENV.publishQueueUrl, queue.queueUrl);
      queue.grantSendMessages(fn);
    }
  }
}
