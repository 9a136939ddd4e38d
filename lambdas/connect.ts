/**
 * `$connect`: admits or refuses the handshake (PROTOCOL §2) and registers the connection: the function's entry (what the CDK bundles). The handler is built once, at init, from
 * the environment; `connect-handler.ts` builds it from any configuration (the local stack, tests).
 */
import { loadConfig } from '../adapters/config.js';
import { createHandler } from './connect-handler.js';

export type { WebSocketConnectEvent } from './connect-handler.js';
export { createHandler };
export const handler = await createHandler(loadConfig());
