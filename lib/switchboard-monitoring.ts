/**
 * Alarms and a dashboard for one Switchboard deployment. The application metrics are the ones the
 * handlers emit as EMF records (adapters/observability.ts) in the `Switchboard` namespace, with a
 * `service` dimension (POWERTOOLS_SERVICE_NAME), which is how one deployment's metrics are told
 * apart from another's in the same account.
 */
import { Duration, Fn, Token } from 'aws-cdk-lib';
import type { HttpApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus, IRule } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE } from '../adapters/observability.js';
import { TRIGGER_ENTRIES } from '../lambdas/handlers.js';

export interface SwitchboardMonitoringProps {
  /** The `service` dimension of the application metrics (`POWERTOOLS_SERVICE_NAME`). */
  readonly serviceName: string;
  /** Every handler, by entry name (`lambdas/handlers.ts`). */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The handlers behind WebSocket routes, by entry name: their errors are the API's server faults. */
  readonly routeFunctions: Readonly<Record<string, IFunction>>;
  /** The handler the publish queue feeds. */
  readonly publishFunction: IFunction;
  /** The queue between the publish rule and the publish handler. */
  readonly publishQueue: IQueue;
  /** The rule that puts matching events on the publish queue. */
  readonly publishRule: IRule;
  /** The bus of `publishRule` (EventBridge names a custom bus in the rule's metric dimensions). */
  readonly eventBus: IEventBus;
  readonly deadLetterQueue: IQueue;
  readonly table: Table;
  /** The table's global secondary indexes: their throttles hold back the table's writes too. */
  readonly tableIndexNames: readonly string[];
  readonly webSocketStage: WebSocketStage;
  readonly httpApi: HttpApi;
  /**
   * @default - alarms without actions
   */
  readonly alarmTopic?: ITopic;
  /** Whether to add the dashboard. @default false */
  readonly dashboard?: boolean;
}

const PERIOD = Duration.minutes(5);

/**
 * The age of the oldest queued event that raises `PublishQueueAge`. A keeping-up handler holds it
 * at seconds; 5 minutes means a backlog (the handler slow, failing or at its concurrency) or an
 * event waiting for a retry: a record the handler failed reappears only after the visibility
 * timeout (`PUBLISH_PIPELINE.visibilityTimeoutSeconds`, 6 minutes), so it is already late for
 * subscribers, and no other alarm sees a failed record before it reaches the dead-letter queue.
 */
export const PUBLISH_QUEUE_AGE_THRESHOLD = Duration.minutes(5);

export class SwitchboardMonitoring extends Construct {
  /** Undefined unless `dashboard` is set. */
  readonly dashboard: Dashboard | undefined;
  readonly publishErrorsAlarm: Alarm;
  readonly handlerErrorsAlarm: Alarm;
  readonly deadLetterQueueAlarm: Alarm;
  readonly throttlesAlarm: Alarm;
  readonly webSocketErrorsAlarm: Alarm;
  readonly httpServerErrorsAlarm: Alarm;
  readonly publishQueueAgeAlarm: Alarm;
  readonly tableThrottlesAlarm: Alarm;
  readonly publishRuleFailuresAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SwitchboardMonitoringProps) {
    super(scope, id);
    const { functions, publishFunction, publishQueue, deadLetterQueue, webSocketStage, httpApi, table } =
      props;
    const entries = Object.keys(functions);
    // An alarm's metric math may read at most 10 metrics (PutMetricAlarm's limit); the WebSocket
    // alarm reads one more than it has route functions.
    const routeEntries = Object.keys(props.routeFunctions);
    if (entries.length > 10 || routeEntries.length > 9) {
      throw new Error(
        `SwitchboardMonitoring: alarms sum one metric per handler, at most 10 handlers and 9 route handlers (received ${entries.length}: ${entries.join(', ')}; routes ${routeEntries.length})`,
      );
    }

    const app = (metricName: string, statistic: string = Stats.SUM, label?: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic,
        period: PERIOD,
        ...(label ? { label } : {}),
      });
    const sumOf = (label: string, metrics: Record<string, IMetric>) =>
      new MathExpression({
        // SUM over an array keeps a datapoint when only some functions have one.
        expression: `SUM([${Object.keys(metrics).join(',')}])`,
        usingMetrics: metrics,
        label,
        period: PERIOD,
      });
    const perFunction = (metric: (fn: IFunction) => IMetric, except: readonly string[] = []) =>
      Object.fromEntries(
        entries
          .filter((entry) => !except.includes(entry))
          .map((entry, i) => [`f${i}`, metric(functions[entry] as IFunction)]),
      );
    const webSocketMetric = (metricName: string, statistic: string = Stats.SUM) =>
      webSocketStage.metric(metricName, { statistic, period: PERIOD });
    // API Gateway's WebSocket metrics (developer guide, "Monitor WebSocket API execution with
    // CloudWatch metrics", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-logging.html):
    // IntegrationError counts 4XX *and* 5XX answers of the integration, so every handshake the
    // $connect handler refuses (401/403) counts, and a flood of bad tokens would page; ClientError
    // is API Gateway's own 4XX. Server faults are ExecutionError ("errors that occurred when
    // calling the integration") and the route handlers' own Lambda Errors (thrown, timed out).
    const webSocketServerFaults = () =>
      sumOf('WebSocket server faults', {
        execution: webSocketMetric('ExecutionError'),
        ...Object.fromEntries(
          routeEntries.map((entry, i) => [
            `r${i}`,
            (props.routeFunctions[entry] as IFunction).metricErrors({ period: PERIOD }),
          ]),
        ),
      });

    const alarm = (alarmId: string, description: string, metric: IMetric, threshold = 1) => {
      const created = new Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) {
        created.addAlarmAction(new SnsAction(props.alarmTopic));
        created.addOkAction(new SnsAction(props.alarmTopic));
      }
      return created;
    };

    this.publishErrorsAlarm = alarm(
      'PublishErrors',
      'The publish handler failed a whole batch (uncaught error or timeout): its events return to the publish queue, are retried, then land in the dead-letter queue.',
      publishFunction.metricErrors({ period: PERIOD, statistic: Stats.SUM }),
    );
    this.handlerErrorsAlarm = alarm(
      'HandlerErrors',
      'A Switchboard handler failed (an uncaught error, a timeout or an out-of-memory).',
      sumOf(
        'Errors, all handlers',
        perFunction((fn) => fn.metricErrors({ period: PERIOD })),
      ),
    );
    this.deadLetterQueueAlarm = alarm(
      'DeadLetterQueueDepth',
      'Events wait in the dead-letter queue: EventBridge could not queue them, or the publish handler failed them on every receive. Redrive them to the publish queue once fixed.',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: Stats.MAXIMUM }),
    );
    this.throttlesAlarm = alarm(
      'Throttles',
      'Lambda throttled a Switchboard handler (account or function concurrency reached).',
      sumOf(
        'Throttles, all handlers but the sweep',
        // The sweep runs one at a time by design (reserved concurrency 1): the schedule's event
        // that finds a run still going is throttled, and that is no fault.
        perFunction((fn) => fn.metricThrottles({ period: PERIOD }), [TRIGGER_ENTRIES.sweep]),
      ),
    );
    this.webSocketErrorsAlarm = alarm(
      'WebSocket5xx',
      'The WebSocket API failed server-side: API Gateway could not call a route handler (ExecutionError), or a route handler threw or timed out. Refused handshakes do not count.',
      webSocketServerFaults(),
    );
    this.httpServerErrorsAlarm = alarm(
      'AuthApi5xx',
      'The token exchange (POST /api/v1/auth) answered with 5xx.',
      httpApi.metricServerError({ period: PERIOD, statistic: Stats.SUM }),
    );
    this.publishQueueAgeAlarm = alarm(
      'PublishQueueAge',
      `An event has waited ${PUBLISH_QUEUE_AGE_THRESHOLD.toHumanString()} or more in the publish queue: the publish handler is behind, failing records, or at its reserved concurrency.`,
      publishQueue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: Stats.MAXIMUM }),
      PUBLISH_QUEUE_AGE_THRESHOLD.toSeconds(),
    );
    // On-demand tables throttle past twice the previous peak or on a hot partition; the SDK retries,
    // so a throttle is latency first and failed requests next.
    const throttleEvents: Record<string, IMetric> = {};
    for (const [i, index] of [undefined, ...props.tableIndexNames].entries()) {
      const dimensionsMap = {
        TableName: table.tableName,
        ...(index === undefined ? {} : { GlobalSecondaryIndexName: index }),
      };
      for (const kind of ['Read', 'Write'] as const) {
        throttleEvents[`${kind.toLowerCase()}${i}`] = table.metric(`${kind}ThrottleEvents`, {
          dimensionsMap,
          period: PERIOD,
          statistic: Stats.SUM,
        });
      }
    }
    this.tableThrottlesAlarm = alarm(
      'TableThrottles',
      'DynamoDB throttled reads or writes on the Switchboard table or its indexes.',
      sumOf('DynamoDB throttle events', throttleEvents),
    );
    // Metrics that name only RuleName are the default bus's; a custom bus's name them with
    // EventBusName and RuleName (EventBridge user guide, "Monitoring Amazon EventBridge"). And
    // `Ref` of a rule on a custom bus is `bus|rule`, not the rule's name
    // (aws-cloudformation/cloudformation-coverage-roadmap#1131): split it.
    const busName = props.eventBus.eventBusName;
    const ruleRef = props.publishRule.ruleName;
    const ruleDimensions: Record<string, string> =
      !Token.isUnresolved(busName) && busName === 'default'
        ? { RuleName: ruleRef }
        : {
            EventBusName: Fn.select(0, Fn.split('|', ruleRef)),
            RuleName: Fn.select(1, Fn.split('|', ruleRef)),
          };
    const ruleMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/Events',
        metricName,
        dimensionsMap: ruleDimensions,
        statistic: Stats.SUM,
        period: PERIOD,
      });
    this.publishRuleFailuresAlarm = alarm(
      'PublishRuleFailedInvocations',
      'The publish rule failed to put events on the publish queue after every retry (FailedInvocations), or failed to send them to the dead-letter queue as well (InvocationsFailedToBeSentToDlq: lost).',
      sumOf('Publish rule failures', {
        failed: ruleMetric('FailedInvocations'),
        lost: ruleMetric('InvocationsFailedToBeSentToDlq'),
      }),
    );

    // A dashboard costs more than the rest of an idle stack (docs/cost.md): only when asked for.
    if (!props.dashboard) {
      this.dashboard = undefined;
      return;
    }
    const m = METRIC;
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `## Switchboard \`${props.serviceName}\`\nApplication metrics: namespace \`${METRICS_NAMESPACE}\`, dimension \`service=${props.serviceName}\`.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Connections',
        left: [
          app(m.connections, Stats.SUM, 'connects'),
          app(m.disconnections, Stats.SUM, 'disconnects'),
          app(m.refusedHandshakes, Stats.SUM, 'refused'),
        ],
        right: [app(m.sweptConnections, Stats.SUM, 'swept')],
        width: 8,
      }),
      new GraphWidget({
        title: 'Subscriptions',
        left: [app(m.subscriptions, Stats.SUM, 'subscribes')],
        right: [webSocketMetric('MessageCount'), webSocketMetric('ConnectCount')],
        width: 8,
      }),
      new SingleValueWidget({
        title: 'Last 3 hours',
        metrics: [app(m.eventsIn), app(m.deliveries), app(m.gone), app(m.deliveryErrors)],
        setPeriodToTimeRange: true,
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Events in, deliveries',
        left: [app(m.eventsIn, Stats.SUM, 'events in'), app(m.deliveries, Stats.SUM, 'deliveries')],
        right: [
          app(m.gone, Stats.SUM, 'gone'),
          app(m.oversizedEvents, Stats.SUM, 'oversized'),
          app(m.invalidEvents, Stats.SUM, 'invalid'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Errors',
        left: [
          app(m.deliveryErrors, Stats.SUM, 'delivery errors'),
          sumOf(
            'handler errors',
            perFunction((fn) => fn.metricErrors({ period: PERIOD })),
          ),
          webSocketServerFaults(),
          httpApi.metricServerError({ period: PERIOD, statistic: Stats.SUM, label: 'auth 5xx' }),
        ],
        right: [
          deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: Stats.MAXIMUM,
            label: 'dead letters',
          }),
          sumOf('DynamoDB throttles', throttleEvents),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Fan-out latency (ms)',
        left: [
          app(m.fanoutLatency, Stats.p(50), 'p50'),
          app(m.fanoutLatency, Stats.p(99), 'p99'),
          app(m.fanoutLatency, Stats.MAXIMUM, 'max'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Handler duration p99 (ms)',
        left: entries.map((entry) =>
          (functions[entry] as IFunction).metricDuration({
            period: PERIOD,
            statistic: Stats.p(99),
            label: entry,
          }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'Handler throttles',
        left: entries.map((entry) =>
          (functions[entry] as IFunction).metricThrottles({
            period: PERIOD,
            statistic: Stats.SUM,
            label: entry,
          }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'Publish queue',
        left: [
          publishQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: Stats.MAXIMUM,
            label: 'waiting',
          }),
          publishQueue.metricApproximateNumberOfMessagesNotVisible({
            period: PERIOD,
            statistic: Stats.MAXIMUM,
            label: 'in flight',
          }),
        ],
        right: [
          publishQueue.metricApproximateAgeOfOldestMessage({
            period: PERIOD,
            statistic: Stats.MAXIMUM,
            label: 'oldest (s)',
          }),
        ],
        width: 8,
      }),
    );
  }

  /** Every alarm, e.g. to add actions. */
  get alarms(): Alarm[] {
    return [
      this.publishErrorsAlarm,
      this.handlerErrorsAlarm,
      this.deadLetterQueueAlarm,
      this.throttlesAlarm,
      this.webSocketErrorsAlarm,
      this.httpServerErrorsAlarm,
      this.publishQueueAgeAlarm,
      this.tableThrottlesAlarm,
      this.publishRuleFailuresAlarm,
    ];
  }
}
