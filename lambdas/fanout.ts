/**
 * Fan-out queue → fan-out workers (big channels and broadcasts, `core/fanout.ts`). Each record is
 * one shard task queued by publish (or by a worker continuing its shard, or retrying the
 * connections whose posts failed). A task that throws is reported as a batch item failure, so SQS
 * retries that task alone, then dead-letters it.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDocumentClient, createManagementClient, createQueueClient } from '../adapters/aws-clients.js';
import { ConfigError, ENV, loadConfig } from '../adapters/config.js';
import { DynamoCallbackBudget } from '../adapters/dynamo-callback-budget.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics, METRIC } from '../adapters/observability.js';
import { SqsFanoutQueue } from '../adapters/sqs-fanout-queue.js';
import { runFanoutTask } from '../core/fanout.js';
import { fanoutTaskSchema } from '../core/fanout-task.js';
import type { FanoutTask } from '../core/ports.js';

const config = loadConfig();
const logger = createLogger();
const metrics = createMetrics();
const db = createDocumentClient(config);
if (!config.fanoutQueueUrl)
  throw new ConfigError(`${ENV.fanoutQueueUrl} is required by the fan-out function`);
const deps = {
  // Keeps presence: a connection found gone (410) leaves its presence channels.
  store: createHandlerStores(config, db, logger).store,
  history: new DynamoChannelHistory(db, config.tableName, config.history),
  gateway: new ManagementApiGateway(createManagementClient(config)),
  queue: new SqsFanoutQueue(createQueueClient(config), config.fanoutQueueUrl),
  budget: new DynamoCallbackBudget(db, config.tableName, config.fanout.callbacksPerSecond),
  settings: config,
  log: logger,
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
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
          error: error instanceof Error ? error.name : typeof error,
        });
      }
    }
    return { batchItemFailures: failures };
  } finally {
    metrics.publishStoredMetrics();
  }
};
