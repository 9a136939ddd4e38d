/**
 * A tiny typed event emitter. The SDK runs in browsers, so it cannot use Node's `events`;
 * `EventTarget` would do, but its events are untyped and allocate an `Event` per emission.
 */

/** Removes the listener it was returned for. Calling it again does nothing. */
export type Unlisten = () => void;

/**
 * Rethrows outside the current call stack, the way `EventTarget` reports a listener's exception:
 * it is never swallowed, and it cannot leave the caller (the client's state machine) half-updated.
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

export class Emitter<Events extends { readonly [K in keyof Events]: unknown }> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Calls `listener` with each payload of `event` until the returned function is called. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): Unlisten {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    // Wrapped so that the same function registered twice gets two independent registrations.
    const registration = (payload: Events[K]) => listener(payload);
    set.add(registration);
    return () => {
      set.delete(registration);
    };
  }

  /** True when anyone listens to `event`. */
  has(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener of `event`; a listener that throws does not stop the others. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    // A copy, so listeners may add or remove listeners while we iterate.
    for (const listener of [...set] as Array<(payload: Events[K]) => void>) {
      try {
        listener(payload);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }
}
