/** Scheduled sweep: closes connections whose token expired and forgets silent ones (see `core/sweep.ts`). */
import type { Context } from 'aws-lambda';
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import type { Config } from '../adapters/config.js';
import { DynamoCallbackBudget } from '../adapters/dynamo-callback-budget.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics, METRIC } from '../adapters/observability.js';
import { sweep } from '../core/sweep.js';

/** `env`: what the logger and metrics read (the Lambda runtime's variables by default). */
export function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const logger = createLogger(env);
  const metrics = createMetrics(env);
  const db = createDocumentClient(config);
  const deps = {
    // Keeps presence: a connection whose $disconnect was lost leaves its presence channels here.
    store: createHandlerStores(config, db, logger).store,
    gateway: new ManagementApiGateway(createManagementClient(config)),
    // Its GETs count against the account's quota like the fan-out's posts: one budget for both.
    budget: new DynamoCallbackBudget(db, config.tableName, config.fanout.callbacksPerSecond),
    settings: config,
    log: logger,
  };

  return async (_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> => {
    const report = await sweep({ ...deps, remainingTimeMs: () => context.getRemainingTimeInMillis() });
    const swept = report.closedExpired + report.removedSilent;
    // Only when something was swept: a custom metric is billed for the hours it receives data, and
    // an idle stack's sweep (every minute) would otherwise keep it billed all month.
    if (swept > 0) {
      metrics.addMetric(METRIC.sweptConnections, 'Count', swept);
      metrics.publishStoredMetrics();
    }
    if (report.outOfTime) {
      logger.warn(
        'sweep ran out of time before the end of the index: the connections due last wait for their turn',
        {
          ...report,
        },
      );
    } else if (report.examined > 0) logger.info('sweep done', { ...report });
  };
}
