/**
 * Fan-out queue → fan-out workers (big channels and broadcasts): the function's entry (what the CDK bundles). The handler is built once, at init, from
 * the environment; `fanout-handler.ts` builds it from any configuration (the local stack, tests).
 */
import { loadConfig } from '../adapters/config.js';
import { createHandler } from './fanout-handler.js';

export { createHandler };
export const handler = createHandler(loadConfig());
