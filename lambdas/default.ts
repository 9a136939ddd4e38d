/**
 * The `$default` route. Its own function (so API Gateway, throttling and alarms see the route),
 * running the shared message handler (see `client-message.ts`), built once, at init, from the
 * environment.
 */
import { loadConfig } from '../adapters/config.js';
import { createHandler } from './client-message.js';

export { createHandler };
export const handler = createHandler(loadConfig());
