/**
 * EventBridge → fan-out. Invoked asynchronously by the rule in `adapters/event-pattern.ts`:
 * throwing makes Lambda retry the event (then the dead-letter queue), which is safe because
 * clients drop duplicates by (`channel`, `id`).
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import { loadConfig } from '../adapters/config.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics, METRIC } from '../adapters/observability.js';
import { DeliveryError, InvalidEventError, publishEvent } from '../core/publish.js';

const config = loadConfig();
const logger = createLogger();
const metrics = createMetrics();
const db = createDocumentClient(config);
const deps = {
  store: new DynamoConnectionStore(db, config.tableName),
  history: new DynamoChannelHistory(db, config.tableName, config.history),
  gateway: new ManagementApiGateway(createManagementClient(config)),
  settings: config,
  log: logger,
};

export const handler = async (event: EventBridgeEvent<string, unknown>, context: Context): Promise<void> => {
  const started = Date.now();
  metrics.addMetric(METRIC.eventsIn, 'Count', 1);
  try {
    const report = await publishEvent(event, {
      ...deps,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
    });
    metrics.addMetric(METRIC.deliveries, 'Count', report.deliveries);
    metrics.addMetric(METRIC.gone, 'Count', report.gone);
    if (report.oversized > 0) metrics.addMetric(METRIC.oversizedEvents, 'Count', report.oversized);
    metrics.addMetric(METRIC.fanoutLatency, 'Milliseconds', Date.now() - started);
    logger.info('event published', { eventId: event.id, ...report });
  } catch (error) {
    if (error instanceof InvalidEventError) {
      // Retrying cannot fix a malformed detail: record it and let the event go.
      metrics.addMetric(METRIC.invalidEvents, 'Count', 1);
      logger.warn('event ignored', { eventId: event.id, reason: error.message });
      return;
    }
    if (error instanceof DeliveryError) metrics.addMetric(METRIC.deliveryErrors, 'Count', 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
};
