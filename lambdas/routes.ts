/**
 * The WebSocket API's routes and the Lambda entry file behind each, defined once: the CDK stack
 * wires API Gateway from this list and the local gateway dispatches with it, so the handlers
 * deployed are exactly the files the local stack runs.
 */

/** API Gateway evaluates this on every message; a body without a matching `action` goes to `$default`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

export interface WebSocketRoute {
  readonly routeKey: string;
  /** File name under `lambdas/` (without extension); it exports `handler`. */
  readonly entry: string;
  /** Two-way routes send the handler's returned `body` back to the client (a route response). */
  readonly twoWay: boolean;
}

export const WEBSOCKET_ROUTES: readonly WebSocketRoute[] = [
  { routeKey: '$connect', entry: 'connect', twoWay: false },
  { routeKey: '$disconnect', entry: 'disconnect', twoWay: false },
  { routeKey: 'subscribe', entry: 'subscribe', twoWay: true },
  { routeKey: 'unsubscribe', entry: 'unsubscribe', twoWay: true },
  { routeKey: 'ping', entry: 'ping', twoWay: true },
  { routeKey: '$default', entry: 'default', twoWay: true },
];

/**
 * Routes API Gateway serves itself, with a `MOCK` integration: no function and no table behind
 * them, so a message on one costs only the message. One-way (no route response): nothing is sent
 * back (docs/design/keep-alive.md).
 */
export interface MockRoute {
  readonly routeKey: string;
  /**
   * The integration's request template (the `$default` one): a mock integration takes its status
   * code from it. The local gateway evaluates the same text.
   */
  readonly requestTemplate: string;
}

export const MOCK_ROUTES: readonly MockRoute[] = [
  // `{"action":"keepalive"}`: restarts API Gateway's idle timer; the SDK's heartbeat.
  { routeKey: 'keepalive', requestTemplate: '{"statusCode": 200}' },
];

/** Handlers that are not WebSocket routes: EventBridge rule, schedule, HTTP API. */
export const TRIGGER_ENTRIES = {
  publish: 'publish',
  fanout: 'fanout',
  sweep: 'sweep',
  auth: 'auth',
} as const;
