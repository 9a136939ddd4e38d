/**
 * The `ping` route. Its own function (so API Gateway, throttling and alarms see the route),
 * running the shared message handler: see `client-message.ts`.
 */
export { handler } from './client-message.js';
