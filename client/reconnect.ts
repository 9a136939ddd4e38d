/**
 * When, and with which token, the client tries again: the token for each handshake, the backoff
 * between attempts, and the judgement of a failed handshake (a network blip to retry, or a refusal
 * of the token that retrying cannot fix).
 */
import { fullJitterDelay } from './backoff.js';
import { SwitchboardError } from './errors.js';
import { closeText } from './link.js';
import type { Settings, TokenProvider } from './options.js';
import { type CloseEventLike, describeHandshakeFailure, type ErrorEventLike } from './websocket.js';

/** The token of each handshake: a fixed string, or a provider asked before every handshake. */
export class TokenSource {
  #token: string | TokenProvider | undefined;

  constructor(token: string | TokenProvider | undefined) {
    this.#token = token;
  }

  /** A provider stays in charge of every token; a fixed one can be replaced (see `replace`). */
  get isProvider(): boolean {
    return typeof this.#token === 'function';
  }

  /** Makes `token` the fixed token of the next handshakes (after a `refresh`). */
  replace(token: string): void {
    this.#token = token;
  }

  async next(): Promise<string | undefined> {
    const token = this.#token;
    if (typeof token !== 'function') return token;
    const value = await token();
    if (typeof value !== 'string')
      throw new TypeError(`the token provider returned ${typeof value}, not a string`);
    return value;
  }
}

/** What a failed handshake leads to: closing for good (`final`), or another attempt. */
export interface HandshakeVerdict {
  readonly final: boolean;
  readonly error: SwitchboardError;
}

/** The retry just scheduled: the payload of the `reconnecting` event, less its error. */
export interface ScheduledRetry {
  readonly attempt: number;
  readonly delayMs: number;
}

export class Reconnector {
  readonly #settings: Settings['reconnect'];
  readonly #tokens: TokenSource;
  /** Consecutive failed attempts; reset once a connection has stayed open `stableAfterMs`. */
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The token of the last handshake that failed without saying why. */
  #lastFailure: { readonly token: string | undefined } | undefined;
  /** A token the server refused: a provider must come up with another one. */
  #refused: { readonly token: string | undefined; readonly error: SwitchboardError } | undefined;

  constructor(settings: Settings['reconnect'], tokens: TokenSource) {
    this.#settings = settings;
    this.#tokens = tokens;
  }

  /** A connection opened: the next failure starts a new count towards an inferred refusal. */
  connected(): void {
    this.#lastFailure = undefined;
  }

  /** A connection stayed open `stableAfterMs`: the delays start over. */
  stable(): void {
    this.#attempt = 0;
  }

  /**
   * The error to close with when `token` is the one the server refused last (a provider that
   * cannot come up with another); for any other token the refusal is forgotten.
   */
  refusedAgain(token: string | undefined): SwitchboardError | undefined {
    if (this.#refused === undefined) return undefined;
    if (token === this.#refused.token) return this.#refused.error;
    this.#refused = undefined;
    return undefined;
  }

  /**
   * Decides whether a handshake that failed (closed before `open`) was a refusal of the token.
   *
   * - `ws` (Node) names the HTTP status: 401 is a refusal, 403 (a forbidden Origin) is final
   *   whatever the token, any other status or a network error is worth retrying.
   * - Browsers hide the status (a bare close 1006), so a refusal is inferred: two handshakes in a
   *   row that fail that way with the same token count as a refusal. One failure alone may be a
   *   network blip; and a browser that reports itself offline never infers one.
   * - After a refusal, a fixed token is not retried (it cannot change); a provider is called again,
   *   and only a different token is tried (`refusedAgain`), otherwise the client closes with
   *   `unauthorized`.
   */
  judgeHandshake(
    token: string | undefined,
    handshakeError: ErrorEventLike | undefined,
    event: CloseEventLike,
  ): HandshakeVerdict {
    const failure = describeHandshakeFailure(handshakeError);
    if (failure.kind === 'status' && failure.status === 403) {
      const message = 'the handshake was refused with HTTP 403 (Origin not allowed)';
      return { final: true, error: new SwitchboardError('unauthorized', message) };
    }
    let refusal: string | undefined;
    if (failure.kind === 'status' && failure.status === 401) refusal = 'with HTTP 401';
    else if (
      failure.kind === 'unknown' &&
      event.code === 1006 &&
      this.#lastFailure !== undefined &&
      this.#lastFailure.token === token &&
      !isOffline()
    ) {
      refusal = 'twice with the same token (close 1006 before open; presumed HTTP 401)';
    }
    if (refusal !== undefined) {
      this.#lastFailure = undefined;
      const error = new SwitchboardError('unauthorized', `the handshake was refused ${refusal}`);
      if (!this.#tokens.isProvider) return { final: true, error };
      this.#refused = { token, error };
      return { final: false, error };
    }
    this.#lastFailure = { token };
    const detail = failure.kind === 'status' ? ` with HTTP ${failure.status}` : ` (${closeText(event)})`;
    return {
      final: false,
      error: new SwitchboardError('connection_failed', `the handshake failed${detail}`),
    };
  }

  /**
   * Schedules `dial` after a randomised, growing delay; returns undefined, scheduling nothing,
   * once `maxAttempts` consecutive attempts have failed (see `gaveUp`).
   */
  schedule(dial: () => void): ScheduledRetry | undefined {
    if (this.#attempt >= this.#settings.maxAttempts) return undefined;
    const delayMs = fullJitterDelay(this.#attempt, this.#settings);
    this.#attempt += 1;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      dial();
    }, delayMs);
    return { attempt: this.#attempt, delayMs };
  }

  /** The error the client closes with when `schedule` gave up after `cause`. */
  gaveUp(cause: SwitchboardError): SwitchboardError {
    return new SwitchboardError(
      'connection_failed',
      `gave up after ${this.#attempt} reconnection attempts`,
      {},
      { cause },
    );
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}

/** Browsers fail every handshake with 1006 while offline: that is never a refusal. */
function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}
