/**
 * Each function's timeout, in seconds, defined once: the CDK stack deploys these
 * (`lib/switchboard-api.ts`) and the local runtime enforces the same ones.
 */
import { FANOUT_PIPELINE, PUBLISH_PIPELINE } from './publish-pipeline.js';

/** WebSocket routes and the token exchange answer a waiting client: 10 s at most. */
const ROUTE_TIMEOUT_SECONDS = 10;

export const FUNCTION_TIMEOUT_SECONDS: Readonly<Record<string, number>> = {
  connect: ROUTE_TIMEOUT_SECONDS,
  disconnect: ROUTE_TIMEOUT_SECONDS,
  subscribe: ROUTE_TIMEOUT_SECONDS,
  unsubscribe: ROUTE_TIMEOUT_SECONDS,
  ping: ROUTE_TIMEOUT_SECONDS,
  default: ROUTE_TIMEOUT_SECONDS,
  auth: ROUTE_TIMEOUT_SECONDS,
  publish: PUBLISH_PIPELINE.functionTimeoutSeconds,
  fanout: FANOUT_PIPELINE.functionTimeoutSeconds,
  sweep: 120,
};
