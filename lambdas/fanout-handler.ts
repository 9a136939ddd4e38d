/**
 * Fan-out queue → fan-out workers (big channels and broadcasts, `core/fanout.ts`). Each record is
 * one shard task queued by publish (or by a worker continuing its shard, or retrying the
 * connections whose posts failed). A task that throws is reported as a batch item failure, so SQS
 * retries that task alone, then dead-letters it.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createQueueClient } from '../adapters/aws-clients.js';
import { type Config, ConfigError, ENV } from '../adapters/config.js';
import { DynamoCallbackBudget } from '../adapters/dynamo-callback-budget.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { METRIC } from '../adapters/observability.js';
import { SqsFanoutQueue } from '../adapters/sqs-fanout-queue.js';
import { runFanoutTask } from '../core/fanout.js';
import { fanoutTaskSchema } from '../core/fanout-task.js';
import { errorName, type FanoutTask } from '../core/ports.js';
import { deliveryWiring } from './delivery-wiring.js';

/** `env`: what the logger and metrics read (the Lambda runtime's variables by default). */
export function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const { logger, metrics, db, deps: delivery } = deliveryWiring(config, createHandlerStores, env);
  if (!config.fanoutQueueUrl)
    throw new ConfigError(`${ENV.fanoutQueueUrl} is required by the fan-out function`);
  const deps = {
    ...delivery,
    queue: new SqsFanoutQueue(createQueueClient(config), config.fanoutQueueUrl),
    budget: new DynamoCallbackBudget(db, config.tableName, config.fanout.callbacksPerSecond),
  };

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const failures: { itemIdentifier: string }[] = [];
    try {
      for (const record of event.Records) {
        let task: unknown;
        try {
          task = JSON.parse(record.body);
        } catch {
          task = undefined;
        }
        const parsed = fanoutTaskSchema.safeParse(task);
        if (!parsed.success) {
          // Not a task this code wrote: no retry can fix it.
          logger.warn('fan-out message ignored: not a fan-out task', { messageId: record.messageId });
          continue;
        }
        try {
          // Parsed from JSON, whose absent fields are absent, never `undefined`.
          const report = await runFanoutTask(parsed.data as FanoutTask, {
            ...deps,
            remainingTimeMs: () => context.getRemainingTimeInMillis(),
          });
          metrics.addMetric(METRIC.deliveries, 'Count', report.deliveries);
          metrics.addMetric(METRIC.gone, 'Count', report.gone);
          logger.info('fan-out shard done', {
            channel: parsed.data.channel,
            audience: parsed.data.audience,
            ...report,
          });
        } catch (error) {
          failures.push({ itemIdentifier: record.messageId });
          logger.error('fan-out shard failed', {
            channel: parsed.data.channel,
            error: errorName(error),
          });
        }
      }
      return { batchItemFailures: failures };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
