/**
 * The handler behind every message route (`subscribe`, `unsubscribe`, `ping`, `$default`).
 * API Gateway picks the route from `action`; messages in the `type` style land on `$default`, so
 * every route must understand every message. The reply is the route response (two-way route).
 *
 * `createHandler` builds it from a configuration (the route entries with `loadConfig()`, once, at
 * init; the local stack and tests with their own), so nothing here reads `process.env` itself.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { createVerifierFromConfig, lazyVerifier } from '../adapters/auth.js';
import type { Config } from '../adapters/config.js';
import { createClientHandlerStores } from '../adapters/handler-stores.js';
import { METRIC } from '../adapters/observability.js';
import { handleClientMessage } from '../core/messages.js';
import { deliveryWiring } from './delivery-wiring.js';

/** `env`: what the logger and metrics read (the Lambda runtime's variables by default). */
export function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const { metrics, stores, deps: delivery } = deliveryWiring(config, createClientHandlerStores, env);
  const deps = {
    ...delivery,
    // Client publish and presence notices go to the publish queue, and the presence store answers
    // `presence`; without the queue's URL, publish is refused and presence is not kept.
    ...stores,
    // Only `refresh` verifies a token: the verifier (and the secret it needs) is built on the first one.
    verifier: lazyVerifier(() => createVerifierFromConfig(config.auth)),
  };

  return async (
    event: APIGatewayProxyWebsocketEventV2,
    context: Context,
  ): Promise<APIGatewayProxyResultV2> => {
    const reply = await handleClientMessage(
      {
        connectionId: event.requestContext.connectionId,
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        receivedAtMs: event.requestContext.requestTimeEpoch,
      },
      // A replay stops short of the function's timeout (see REPLAY_TIME_MARGIN_MS).
      { ...deps, remainingTimeMs: () => context.getRemainingTimeInMillis() },
    );
    if (reply.type === 'subscribed') {
      metrics.addMetric(METRIC.subscriptions, 'Count', 1);
      metrics.publishStoredMetrics();
    }
    return { statusCode: 200, body: JSON.stringify(reply) };
  };
}
