/**
 * `POST /api/v1/auth`: the token exchange (PROTOCOL §2): the function's entry (what the CDK bundles). The handler is built once, at init, from
 * the environment; `auth-handler.ts` builds it from any configuration (the local stack, tests).
 */
import { loadConfig } from '../adapters/config.js';
import { createHandler } from './auth-handler.js';

export { createHandler };
export const handler = await createHandler(loadConfig());
