/**
 * The local Lambda runtime's own failures, the ones that happen outside a handler's code (a
 * timeout, a crashed runtime, a throttle): worded like Lambda's, because a caller of the function
 * sees them as it would on AWS.
 */

/** A handler invocation that ran past its function timeout, worded like Lambda's own message. */
export class LambdaTimeoutError extends Error {
  override readonly name = 'LambdaTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
  }
}

/**
 * An invocation whose runtime died (fault injection: the publish function "crashes" after some
 * `@connections` posts), worded like Lambda's `Runtime.ExitError`.
 */
export class LambdaCrashError extends Error {
  override readonly name = 'LambdaCrashError';
}

/**
 * A synchronous invocation refused because the function is at its concurrency limit: Lambda's
 * `TooManyRequestsException` (HTTP 429, "Rate Exceeded."), which a synchronous caller sees as is.
 */
export class LambdaThrottledError extends Error {
  override readonly name = 'TooManyRequestsException';
  constructor(functionName: string) {
    super(`Rate Exceeded. (${functionName} is at its reserved concurrency)`);
  }
}
