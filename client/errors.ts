import type { ErrorCode, ErrorMessage } from '../core/protocol.js';

/**
 * Codes the client adds to the protocol's own, for failures no server reply describes:
 * - `connection_failed`: a handshake or the token provider failed, or reconnection gave up;
 * - `timeout`: no reply to a request within `requestTimeoutMs`;
 * - `cancelled`: the subscription was unsubscribed before the server confirmed it;
 * - `closed`: the client was closed before the request could complete;
 * - `connection_lost`: the connection ended after a `publish` was sent and before its reply, so
 *   whether it was published is unknown (it is not sent again: that could publish it twice).
 */
export type ClientErrorCode = 'connection_failed' | 'timeout' | 'cancelled' | 'closed' | 'connection_lost';

/** A protocol error code (from an `error` reply) or one of the client's own. */
export type SwitchboardErrorCode = ErrorCode | ClientErrorCode;

export interface SwitchboardErrorDetails {
  /** The channel the failed request was about, when there is one. */
  readonly channel?: string;
  /** The correlation id of the failed request, when there is one. */
  readonly requestId?: string;
}

/**
 * Every failure the client reports, so callers switch on one `code` instead of parsing messages.
 * `code` is the protocol's error code when the server answered with an `error` reply.
 */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';
  readonly channel?: string;
  readonly requestId?: string;

  constructor(
    readonly code: SwitchboardErrorCode,
    message: string,
    details: SwitchboardErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    if (details.channel !== undefined) this.channel = details.channel;
    if (details.requestId !== undefined) this.requestId = details.requestId;
  }

  /** The error an `error` reply stands for. */
  static fromReply(reply: ErrorMessage): SwitchboardError {
    const details: { channel?: string; requestId?: string } = {};
    if (reply.channel !== undefined) details.channel = reply.channel;
    if (reply.id !== undefined) details.requestId = reply.id;
    return new SwitchboardError(reply.code, reply.message, details);
  }
}

/** The error of whatever the client can no longer do once closed. */
export function closedError(channel?: string): SwitchboardError {
  return new SwitchboardError('closed', 'the client is closed', channel === undefined ? {} : { channel });
}
