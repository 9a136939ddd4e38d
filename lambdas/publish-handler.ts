/**
 * Publish queue → fan-out. The EventBridge rule puts each event on the publish queue, and Lambda's
 * SQS event source mapping hands this function up to `PUBLISH_PIPELINE.batchSize` of them at once
 * (`lambdas/publish-pipeline.ts`). Records whose deliveries failed are reported back as batch item
 * failures ("Handling errors for an SQS event source in Lambda": with `ReportBatchItemFailures`,
 * only those records become visible again), so SQS retries them alone, then moves them to the
 * dead-letter queue after `maxReceiveCount` receives.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createQueueClient } from '../adapters/aws-clients.js';
import { type Config, ConfigError, ENV } from '../adapters/config.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { METRIC } from '../adapters/observability.js';
import { SqsFanoutQueue } from '../adapters/sqs-fanout-queue.js';
import { type BusEvent, type PublishRecord, publishBatch } from '../core/publish.js';
import { deliveryWiring } from './delivery-wiring.js';

/** A record's body is the event envelope, exactly as an EventBridge SQS target sends it. */
function busEvent(body: string): BusEvent | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null) return undefined;
    const { id, source, time, detail } = value as Record<string, unknown>;
    const type = (value as Record<string, unknown>)['detail-type'];
    if (typeof id !== 'string' || typeof type !== 'string') return undefined;
    return { id, 'detail-type': type, source: String(source ?? ''), time: String(time ?? ''), detail };
  } catch {
    return undefined;
  }
}

/** `env`: what the logger and metrics read (the Lambda runtime's variables by default). */
export function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const { logger, metrics, deps: delivery } = deliveryWiring(config, createHandlerStores, env);
  if (!config.fanoutQueueUrl)
    throw new ConfigError(`${ENV.fanoutQueueUrl} is required by the publish function`);
  const deps = {
    ...delivery,
    fanout: new SqsFanoutQueue(createQueueClient(config), config.fanoutQueueUrl),
  };

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const started = Date.now();
    const records: PublishRecord[] = [];
    for (const record of event.Records) {
      const parsed = busEvent(record.body);
      if (parsed) records.push({ key: record.messageId, event: parsed });
      else {
        // Not an event envelope: no retry can fix it.
        metrics.addMetric(METRIC.invalidEvents, 'Count', 1);
        logger.warn('queue message ignored: not an EventBridge event', { messageId: record.messageId });
      }
    }
    metrics.addMetric(METRIC.eventsIn, 'Count', records.length);
    try {
      const { retry, report } = await publishBatch(records, {
        ...deps,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      });
      metrics.addMetric(METRIC.deliveries, 'Count', report.deliveries);
      metrics.addMetric(METRIC.gone, 'Count', report.gone);
      if (report.oversized > 0) metrics.addMetric(METRIC.oversizedEvents, 'Count', report.oversized);
      if (report.invalidEvents > 0) metrics.addMetric(METRIC.invalidEvents, 'Count', report.invalidEvents);
      if (retry.length > 0) metrics.addMetric(METRIC.deliveryErrors, 'Count', retry.length);
      metrics.addMetric(METRIC.fanoutLatency, 'Milliseconds', Date.now() - started);
      logger.info('events published', {
        eventIds: records.map((r) => r.event.id),
        retried: retry.length,
        ...report,
      });
      return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
