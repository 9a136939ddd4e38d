/**
 * The store shape React's `useSyncExternalStore` reads, for the SDK's feeds (`channel-feed.ts`,
 * `presence-feed.ts`): an immutable snapshot, replaced on every change, and a `listen` whose first
 * listener starts the feed and whose last one stops it, so the feed's subscription lives exactly as
 * long as someone listens.
 */
export interface ExternalStore<S> {
  /** The current snapshot: the same object until something changes. */
  getSnapshot(): S;
  /** Calls `onChange` after every change; the first listener starts the feed, the last stops it. */
  listen(onChange: () => void): () => void;
}

/** `start` runs when the first listener comes and returns what stops it when the last one goes. */
export function externalStore<S extends object>(
  initial: S,
  start: (update: (change: Partial<S>) => void, current: () => S) => () => void,
): ExternalStore<S> {
  let snapshot = initial;
  const listeners = new Set<() => void>();
  let stop: (() => void) | undefined;
  const update = (change: Partial<S>) => {
    snapshot = { ...snapshot, ...change };
    for (const listener of [...listeners]) listener();
  };
  return {
    getSnapshot: () => snapshot,
    listen(onChange) {
      listeners.add(onChange);
      if (listeners.size === 1) stop = start(update, () => snapshot);
      return () => {
        if (!listeners.delete(onChange) || listeners.size > 0) return;
        stop?.();
        stop = undefined;
      };
    },
  };
}
