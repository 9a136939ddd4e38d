/**
 * Bounded memory of the event ids recently delivered on one channel.
 *
 * Delivery is at least once, and one event published to several channels carries the same id on
 * each, so duplicates are recognised by (channel, id): the client keeps one `RecentIds` per
 * channel. A `Set` iterates in insertion order, which makes it a FIFO: once full, the oldest id
 * is forgotten. Redeliveries arrive close together (a retried fan-out, the overlap of a
 * connection handover), so a window of recent ids catches them without growing forever.
 */
export class RecentIds {
  readonly #ids = new Set<string>();

  constructor(readonly capacity: number) {}

  /** Remembers `id`; returns false when it was already remembered (a duplicate). */
  remember(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next();
      if (oldest.done !== true) this.#ids.delete(oldest.value);
    }
    return true;
  }

  get size(): number {
    return this.#ids.size;
  }
}
