/**
 * Alarms and a dashboard for one Switchboard deployment. The application metrics are the ones the
 * handlers emit with Powertools Metrics (EMF) in the `Switchboard` namespace; Powertools adds a
 * `service` dimension (POWERTOOLS_SERVICE_NAME), which is how one deployment's metrics are told
 * apart from another's in the same account.
 */
import { Duration } from 'aws-cdk-lib';
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
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE } from '../adapters/observability.js';

export interface SwitchboardMonitoringProps {
  /** The `service` dimension of the application metrics (`POWERTOOLS_SERVICE_NAME`). */
  readonly serviceName: string;
  /** Every handler, by entry name (`lambdas/routes.ts`). */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The handler the EventBridge rule invokes. */
  readonly publishFunction: IFunction;
  readonly deadLetterQueue: IQueue;
  readonly webSocketStage: WebSocketStage;
  readonly httpApi: HttpApi;
  /**
   * @default - alarms without actions
   */
  readonly alarmTopic?: ITopic;
}

const PERIOD = Duration.minutes(5);

export class SwitchboardMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly publishErrorsAlarm: Alarm;
  readonly handlerErrorsAlarm: Alarm;
  readonly deadLetterQueueAlarm: Alarm;
  readonly throttlesAlarm: Alarm;
  readonly webSocketErrorsAlarm: Alarm;
  readonly httpServerErrorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SwitchboardMonitoringProps) {
    super(scope, id);
    const { functions, publishFunction, deadLetterQueue, webSocketStage, httpApi } = props;
    const entries = Object.keys(functions);
    // An alarm's metric math may read at most 10 metrics (PutMetricAlarm's limit).
    if (entries.length > 10) {
      throw new Error(
        `SwitchboardMonitoring: alarms sum one metric per handler, at most 10 (received ${entries.length}: ${entries.join(', ')})`,
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
    const perFunction = (metric: (fn: IFunction) => IMetric) =>
      Object.fromEntries(entries.map((entry, i) => [`f${i}`, metric(functions[entry] as IFunction)]));
    const webSocketMetric = (metricName: string, statistic: string = Stats.SUM) =>
      webSocketStage.metric(metricName, { statistic, period: PERIOD });

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
      'The publish handler failed: events may be retried, then land in the dead-letter queue.',
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
      'Events that could not be delivered are waiting in the dead-letter queue.',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: Stats.MAXIMUM }),
    );
    this.throttlesAlarm = alarm(
      'Throttles',
      'Lambda throttled a Switchboard handler (account or function concurrency reached).',
      sumOf(
        'Throttles, all handlers',
        perFunction((fn) => fn.metricThrottles({ period: PERIOD })),
      ),
    );
    this.webSocketErrorsAlarm = alarm(
      'WebSocket5xx',
      'The WebSocket API answered with server-side errors (execution or integration errors).',
      sumOf('WebSocket 5xx', {
        execution: webSocketMetric('ExecutionError'),
        integration: webSocketMetric('IntegrationError'),
      }),
    );
    this.httpServerErrorsAlarm = alarm(
      'AuthApi5xx',
      'The token exchange (POST /api/v1/auth) answered with 5xx.',
      httpApi.metricServerError({ period: PERIOD, statistic: Stats.SUM }),
    );

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
          sumOf('WebSocket 5xx', {
            execution: webSocketMetric('ExecutionError'),
            integration: webSocketMetric('IntegrationError'),
          }),
          httpApi.metricServerError({ period: PERIOD, statistic: Stats.SUM, label: 'auth 5xx' }),
        ],
        right: [
          deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: Stats.MAXIMUM,
            label: 'dead letters',
          }),
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
        width: 12,
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
        width: 12,
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
    ];
  }
}
