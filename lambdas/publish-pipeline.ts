/**
 * The publish pipeline's deploy facts, defined once: the CDK stack builds the queue, the event
 * source mapping and the function from them, and the local stack emulates the same values.
 *
 *   EventBridge rule ──▶ publish queue (SQS standard) ──▶ event source mapping ──▶ publish Lambda
 *         │ (target DLQ)          │ (redrive after maxReceiveCount)
 *         └────────────▶ dead-letter queue ◀──┘
 *
 * Why a queue between the rule and the function (docs/design/sequencing.md): the function gets
 * events in batches, so one atomic counter update numbers every event of a channel in the batch,
 * and a failed record is retried alone (partial batch responses) instead of the whole event.
 */
export const PUBLISH_PIPELINE = {
  /**
   * Records per invocation. 10 is the largest batch Lambda allows without a batching window, and a
   * window would add up to its length to every event's latency ("Lambda parameters for Amazon SQS
   * event source mappings": BatchSize above 10 needs MaximumBatchingWindowInSeconds of at least 1).
   */
  batchSize: 10,
  /** The publish function's timeout, on AWS and locally. */
  functionTimeoutSeconds: 60,
  /**
   * The publish function's reserved concurrency, and the event source mapping's maximum
   * concurrency (equal, so that the mapping never invokes into a throttle: a throttled batch
   * returns to the queue and spends one of its receives). The local runtime enforces the same limit.
   */
  reservedConcurrency: 20,
  /**
   * Receives before SQS moves a message to the dead-letter queue: the first attempt and two
   * retries, as Lambda's asynchronous invocation would have made.
   */
  maxReceiveCount: 3,
  /**
   * AWS: "set the source queue's visibility timeout to at least six times the timeout that you
   * configure on your function" (Lambda developer guide, "Using Lambda with Amazon SQS").
   */
  visibilityTimeoutSeconds: 6 * 60,
} as const;

/**
 * The fan-out queue's facts (big channels and broadcasts, `core/fanout.ts`): publish queues one
 * task per shard, fan-out workers run them. One task per invocation, since a task can post for
 * a whole invocation; as many workers at once as the callback budget can keep busy.
 */
export const FANOUT_PIPELINE = {
  batchSize: 1,
  functionTimeoutSeconds: 60,
  reservedConcurrency: 32,
  maxReceiveCount: 3,
  visibilityTimeoutSeconds: 6 * 60,
} as const;
