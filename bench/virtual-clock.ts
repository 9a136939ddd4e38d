/**
 * Simulated time for the fan-out simulation (`fanout-sim.ts`). While installed, the global
 * `setTimeout`/`clearTimeout` schedule on this clock instead of the real one: core's pacer waits
 * for the next second and its delivery backs off with them, and they take no parameter to inject
 * a clock into. `runUntil` then moves time from one due timer to the next, and before each move
 * lets every promise settle (one real `setImmediate` turn: the microtask queue is empty after it),
 * so minutes of fan-out run in seconds and the result does not depend on the machine's load.
 *
 * Only what the simulation itself awaits may run while it is installed: another timer set in the
 * meantime (anywhere in the process) would fire on simulated time. The bench's progress bar uses
 * `setInterval`, which stays real.
 */

interface VirtualTimer {
  cancelled: boolean;
  readonly fn: (...args: unknown[]) => void;
  readonly args: unknown[];
}

/** What `setTimeout` returns here: enough of Node's `Timeout` for code that calls `unref()`. */
class VirtualTimeout {
  constructor(readonly timer: VirtualTimer) {}
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return false;
  }
  refresh() {
    return this;
  }
}

/** A stalled simulation: nothing is scheduled, yet it is not done (a promise nobody resolves). */
export class SimulationStalledError extends Error {
  override readonly name = 'SimulationStalledError';
}

export class VirtualClock {
  /** Simulated epoch milliseconds. */
  now: number;
  /** Timers fired so far. */
  fired = 0;
  private readonly due: number[] = [];
  private readonly buckets = new Map<number, VirtualTimer[]>();
  private restore: (() => void) | undefined;
  private readonly realSetImmediate = setImmediate;

  constructor(startMs: number) {
    this.now = startMs;
  }

  /** Resolves after `ms` of simulated time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(() => resolve(), ms, []));
  }

  /** Replaces the global `setTimeout`/`clearTimeout` until `uninstall`. */
  install(): void {
    if (this.restore) return;
    const saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
    globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      new VirtualTimeout(this.schedule(fn, ms ?? 0, args))) as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((handle: unknown) => {
      if (handle instanceof VirtualTimeout) handle.timer.cancelled = true;
      else saved.clearTimeout(handle as NodeJS.Timeout);
    }) as typeof clearTimeout;
    this.restore = () => {
      globalThis.setTimeout = saved.setTimeout;
      globalThis.clearTimeout = saved.clearTimeout;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /**
   * Runs timers in due order until `done()` holds once every promise has settled. Throws when
   * nothing is left to run but `done()` does not hold, or when time passes `limitMs`.
   */
  async runUntil(done: () => boolean, limitMs: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => this.realSetImmediate(resolve));
      if (done()) return;
      const next = this.popDue();
      if (next === undefined) throw new SimulationStalledError(`nothing scheduled at ${this.now} ms`);
      if (next > limitMs) throw new SimulationStalledError(`still running at the limit of ${limitMs} ms`);
      this.now = next;
      const timers = this.buckets.get(next) ?? [];
      this.buckets.delete(next);
      for (const timer of timers) {
        if (timer.cancelled) continue;
        this.fired += 1;
        timer.fn(...timer.args);
      }
    }
  }

  private schedule(fn: (...args: unknown[]) => void, ms: number, args: unknown[]): VirtualTimer {
    // Whole milliseconds: timers due in the same millisecond fire in one step.
    const at = Math.max(this.now, Math.ceil(this.now + (Number.isFinite(ms) ? ms : 0)));
    const timer = { cancelled: false, fn, args };
    const bucket = this.buckets.get(at);
    if (bucket) bucket.push(timer);
    else {
      this.buckets.set(at, [timer]);
      this.pushDue(at);
    }
    return timer;
  }

  // A binary min-heap of the distinct due times.
  private pushDue(at: number): void {
    const heap = this.due;
    heap.push(at);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= at) break;
      heap[i] = heap[parent] as number;
      i = parent;
    }
    heap[i] = at;
  }

  private popDue(): number | undefined {
    const heap = this.due;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
      if ((heap[child] as number) >= last) break;
      heap[i] = heap[child] as number;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
