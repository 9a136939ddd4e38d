/**
 * Retrying a DynamoDB write that lost a race with a transaction on the same item.
 *
 * DynamoDB refuses a PutItem, UpdateItem or DeleteItem on an item that an ongoing
 * TransactWriteItems includes with `TransactionConflictException`, and cancels a TransactWriteItems
 * whose item is part of another ongoing one with `TransactionCanceledException`, the item's
 * `CancellationReasons[].Code` being `TransactionConflict` ("Transaction conflict handling in
 * DynamoDB": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling).
 * Neither means the write is wrong: the same write succeeds once the other one is done.
 *
 * The AWS SDK does not retry either. Read in @smithy/core 3.41.0 (`submodules/retry`), the
 * standard strategy that @aws-sdk/client-dynamodb 3.1162.0 uses by default (3 attempts): it retries
 * throttling errors (HTTP 429 or a name on its list, which has `TransactionInProgressException` but
 * neither of these), transient ones (timeouts, network errors, HTTP 500/502/503/504) and errors
 * modelled as retryable; both conflicts are modelled as plain client errors (HTTP 400, no retryable
 * trait), so they reach the caller on the first attempt. `test/integration/dynamo-store.test.ts`
 * counts the requests to show it.
 */
import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';

/**
 * How a write that keeps meeting transaction conflicts is retried. With the defaults a write waits
 * at most 2.2 s in all (half that on average), well inside a message handler's 10 s timeout.
 */
export interface ConflictRetryOptions {
  /** Attempts in all, the first one included. @default 10 */
  readonly attempts?: number;
  /** Upper bound of the first wait; it doubles after every conflict. @default 20 */
  readonly baseDelayMs?: number;
  /** Upper bound of any one wait. @default 400 */
  readonly maxDelayMs?: number;
}

/**
 * A write still refused for a transaction conflict after every attempt; `cause` is the last
 * refusal. Nothing the client did is wrong, so it is no protocol refusal: core answers
 * `internal_error` (the client may send the message again) and logs this name.
 */
export class TransactionConflictError extends Error {
  override readonly name = 'TransactionConflictError';
  constructor(
    readonly operation: string,
    readonly attempts: number,
    options: ErrorOptions,
  ) {
    super(`${operation} still conflicted with a concurrent transaction after ${attempts} attempts`, options);
  }
}

/**
 * Why DynamoDB cancelled a transaction, one code per item in request order. The API reference says
 * `CancellationReasons` may be set for Java only
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html);
 * the message always lists the same codes: "Transaction cancelled, please refer cancellation
 * reasons for specific reasons [TransactionConflict, None]".
 */
export function cancellationCodes(error: TransactionCanceledException): string[] {
  if (error.CancellationReasons) return error.CancellationReasons.map((r) => r.Code ?? 'None');
  const listed = /\[([^\]]*)\]\s*$/.exec(error.message)?.[1];
  return listed ? listed.split(',').map((code) => code.trim()) : [];
}

/** True when DynamoDB refused the write only because a transaction on the same item was under way. */
export function isTransactionConflict(error: unknown): boolean {
  if (error instanceof TransactionConflictException) return true;
  if (!(error instanceof TransactionCanceledException)) return false;
  const codes = cancellationCodes(error);
  // A failed condition is an answer, not a race: the caller handles it (see `isConditionFailure`).
  return codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
}

/**
 * Runs `write` until it is not refused for a transaction conflict, waiting a random time up to an
 * exponentially growing bound between attempts ("full jitter", as the SDK's own backoff), so that
 * writers racing for one item spread out instead of colliding again. Every other outcome, success
 * or error, is returned or thrown as is; past the last attempt a `TransactionConflictError` is
 * thrown. `write` must build a new request on every call and be safe to repeat: a refused write
 * changed nothing.
 */
export async function retryTransactionConflicts<T>(
  operation: string,
  write: () => Promise<T>,
  { attempts = 10, baseDelayMs = 20, maxDelayMs = 400 }: ConflictRetryOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isTransactionConflict(error)) throw error;
      if (attempt >= attempts) throw new TransactionConflictError(operation, attempt, { cause: error });
      const bound = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * bound));
    }
  }
}
