/**
 * Powertools logger and metrics, created once per function. Metric names are shared with the
 * CloudWatch dashboard in `lib/`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const METRIC = {
  connections: 'Connections',
  disconnections: 'Disconnections',
  refusedHandshakes: 'RefusedHandshakes',
  subscriptions: 'Subscriptions',
  eventsIn: 'EventsIn',
  deliveries: 'Deliveries',
  gone: 'Gone',
  deliveryErrors: 'DeliveryErrors',
  oversizedEvents: 'OversizedEvents',
  invalidEvents: 'InvalidEvents',
  fanoutLatency: 'FanoutLatency',
  sweptConnections: 'SweptConnections',
} as const;

export const METRICS_NAMESPACE = 'Switchboard';

export function createLogger(): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'switchboard' });
}

export function createMetrics(): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'switchboard',
  });
}

/**
 * What may be logged of an unexpected error: its name and, for AWS SDK errors, the HTTP status.
 * Never the error object itself, whose message or fields can quote tokens or claims.
 */
export function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return { errorName: error.name, ...(status ? { httpStatus: status } : {}) };
}
