/**
 * `@switchboard/cdk`: the Switchboard construct for an existing CDK app, and this repository's own
 * app's only door into `lib/` (bin/app.ts imports from here, as a user imports the package).
 *
 * @example
 * ```ts
 * import { SwitchboardApi } from '@switchboard/cdk';
 *
 * const realtime = new SwitchboardApi(this, 'Realtime', { allowedOrigins: ['https://app.example.com'] });
 * new CfnOutput(this, 'WebSocketUrl', { value: realtime.webSocketUrl });
 * ```
 *
 * In the package, every handler is a bundle built when the package was built (`dist/handlers/`),
 * deployed with `lambda.Code.fromAsset`: a synth needs neither esbuild nor Docker.
 */

/**
 * Every setting: its environment variable, prop, context key, default, range and doc line. For an
 * app that takes the construct's props from CDK context, as this repository's bin/app.ts does.
 */
export { SETTING_DOCS } from '../adapters/settings-docs.js';
export { SETTING_ROWS, SETTINGS, type Setting } from '../adapters/settings-table.js';
export type { ChannelRule } from '../core/channel-policy.js';
export {
  DEFAULT_CHANNEL_POLICY,
  DEFAULT_PRESENCE_POLICY,
  DEFAULT_PUBLISH_POLICY,
} from '../core/channel-policy.js';
/** The wire protocol version the handlers serve (see docs/packages.md, "Compatibility"). */
export { PROTOCOL_VERSION } from '../core/protocol-version.js';
export type { HandlerAccess } from '../lambdas/handlers.js';
export { FanoutPipeline, type FanoutPipelineProps } from './fanout-pipeline.js';
export { SwitchboardFrontDoor, type SwitchboardFrontDoorProps } from './front-door.js';
export { HandlerFunction, type HandlerFunctionProps } from './handler-function.js';
export { PublishPipeline, type PublishPipelineProps } from './publish-pipeline.js';
export { AUTH_ROUTE_PATH, type ISwitchboardApi, SwitchboardApi } from './switchboard-api.js';
export {
  type HistoryProps,
  type RateLimitProps,
  type ResolvedSwitchboardApiProps,
  SWITCHBOARD_DEFAULTS,
  type SwitchboardApiProps,
  type SwitchboardAuthOptions,
  type SwitchboardDomainOptions,
  type SwitchboardFrontDoorOptions,
  SwitchboardPropsError,
} from './switchboard-api-props.js';
export { SwitchboardMonitoring, type SwitchboardMonitoringProps } from './switchboard-monitoring.js';
export { SwitchboardStack, type SwitchboardStackProps } from './switchboard-stack.js';
