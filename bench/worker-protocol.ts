/**
 * The IPC protocol between the bench (parent) and its client workers: child processes that hold
 * real `ws` clients, stamp every received event on the shared monotonic clock, and count them.
 * Requests carry `rid`; every reply echoes it with `ok` and a `result` or an `error`.
 */

/** One client to open: `key` names it in every later request; `token` is a JWT the stack accepts. */
export interface ClientSpec {
  readonly key: string;
  readonly token: string;
}

/** A message a client sends, answered by a reply with the same `id` (`subscribe`, `whoami`). */
export interface ClientRequest {
  readonly key: string;
  readonly message: { readonly action: string; readonly id: string } & Record<string, unknown>;
  /** The reply type that means success (an `error` reply fails the request). */
  readonly expect: string;
  /**
   * Error codes (e.g. `rate_limited`) that are recorded in `refused` instead of failing the
   * request; without it every error reply fails, as before.
   */
  readonly tolerate?: readonly string[];
}

/** A `published` reply to a client publish (PROTOCOL §8), with when the request left. */
export interface PublishedReply {
  /** The request's `id`. */
  readonly id: string;
  readonly eventId: string;
  readonly channel: string;
  /** Just before the request was sent, and when the reply arrived (shared clock, ms). */
  readonly sentAt: number;
  readonly repliedAt: number;
}

/** An error reply whose code the request tolerated. */
export interface RefusedReply {
  readonly id: string;
  readonly code: string;
  readonly sentAt: number;
}

/** What a soak client is, for judging what it received. */
export interface SoakClient {
  readonly key: string;
  readonly tenant: string | undefined;
  readonly channels: readonly string[];
}

/** A published soak event as the bench recorded it. */
export interface SoakEvent {
  readonly id: string;
  readonly tenant: string | undefined;
  readonly channel: string;
  /** PutEvents resolved, on the shared clock (ms). */
  readonly acceptedAt: number;
}

export type WorkerRequest =
  | {
      readonly op: 'open';
      readonly url: string;
      readonly clients: readonly ClientSpec[];
      readonly concurrency: number;
    }
  | { readonly op: 'request'; readonly items: readonly ClientRequest[]; readonly concurrency: number }
  /** Waits until `expected` events tagged `tag` arrived (or `timeoutMs`), then hands over their receipt times. */
  | { readonly op: 'await'; readonly tag: string; readonly expected: number; readonly timeoutMs: number }
  /** From now on, record who received each event tagged `tag`: client, id, channel, seq and time. */
  | { readonly op: 'track'; readonly tag: string }
  /**
   * Waits until `expected` events tagged `tag` arrived (or `timeoutMs`), then until none arrived
   * for `quietMs` (late duplicates), and hands over every tracked receipt of the tag.
   */
  | {
      readonly op: 'take';
      readonly tag: string;
      readonly expected: number;
      readonly timeoutMs: number;
      readonly quietMs: number;
    }
  /** From now on, record every event per client (id, channel, time) for `soakEvaluate`. */
  | { readonly op: 'soakStart' }
  | {
      readonly op: 'soakEvaluate';
      readonly clients: readonly SoakClient[];
      readonly events: readonly SoakEvent[];
    }
  | { readonly op: 'counts' }
  | { readonly op: 'closeAll'; readonly timeoutMs: number };

export type WorkerRequestWithId = WorkerRequest & { readonly rid: number };

export interface OpenResult {
  readonly opened: number;
  readonly retries: number;
}

export interface RequestResult {
  /** Replies by client key (e.g. the `connected` reply's connectionId). */
  readonly replies: Record<string, Record<string, unknown>>;
  /** Every `published` reply, by client key, in the order they arrived. */
  readonly published: Record<string, PublishedReply[]>;
  /** Every tolerated error reply, by client key. */
  readonly refused: Record<string, RefusedReply[]>;
}

export interface AwaitResult {
  readonly count: number;
  /** Receipt times (shared clock, ms) of the tagged events, in arrival order. */
  readonly times: Float64Array;
}

/** A tracked tag's receipts in arrival order, as parallel arrays. */
export interface TrackedReceipts {
  /** The client that received it. */
  readonly keys: readonly string[];
  readonly ids: readonly string[];
  readonly channels: readonly string[];
  /** The event's `seq`; NaN when it carried none. */
  readonly seqs: Float64Array;
  /** Receipt times (shared clock, ms). */
  readonly times: Float64Array;
}

export interface Counts {
  readonly clients: number;
  readonly open: number;
  /** Events received since the worker started (all kinds). */
  readonly events: number;
  /** Events that carried no bench tag or an unknown one (should stay 0). */
  readonly untagged: number;
  /** Clients whose socket closed without the bench asking: key, code, reason. */
  readonly unexpectedCloses: readonly {
    readonly key: string;
    readonly code: number;
    readonly reason: string;
  }[];
}

export interface SoakSample {
  readonly key: string;
  readonly clientTenant: string | undefined;
  readonly eventId: string;
  readonly eventTenant: string | undefined;
  readonly channel: string;
  readonly detail: string;
}

export interface SoakEvaluation {
  readonly clients: number;
  /** Every event these clients recorded during the soak (= delivered + duplicated + unexpected). */
  readonly received: number;
  readonly expected: number;
  /** Distinct expected (event, channel) pairs that arrived. */
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  /** Receipt minus PutEvents accepted, ms, for every first delivery. */
  readonly latencies: Float64Array;
  readonly lostSamples: readonly SoakSample[];
  readonly duplicateSamples: readonly SoakSample[];
  readonly unexpectedSamples: readonly SoakSample[];
}

export type WorkerReply =
  | { readonly rid: number; readonly ok: true; readonly result: unknown }
  | { readonly rid: number; readonly ok: false; readonly error: string };
