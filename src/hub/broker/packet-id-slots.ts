/**
 * What is in flight under MQTT packet ids, with the ids it allocates: the session's QoS 1/2
 * messages, the connection's hub-core deliveries. An array indexed by id, not a Map.
 *
 * Why not a Map: messages go in under new ids at one end and PUBACKs take them out at the other,
 * so a Map's hash table fills with deleted entries and is rebuilt every few hundred messages. A
 * rebuilt table is left holding its entries and a pointer to its successor. Once one such table is
 * in V8's old generation (any full collection under load puts the current one there), each
 * scavenge keeps alive, through it, every younger table and every message they held, and promotes
 * them; the next full collection frees them, and the table current at that moment starts it again.
 * Measured on QoS 1 fan-in: after one full collection, 15 % of everything allocated was promoted
 * (none before), major collections every 0.4 s, 20-45 % less throughput and 70-90 MiB more peak
 * RSS, for the rest of the process's life (docs/benchmarks.md, "A Map as a queue"). An array slot
 * is overwritten in place and never leaves a copy behind.
 *
 * Ids are allocated in turn (not the lowest free one, so an id is not reused right after its
 * acknowledgement), cycling through a range that grows with the number in flight: a client with a
 * few messages in flight cycles through 16 ids and keeps two arrays of 16 slots, a busy subscriber
 * through up to twice its window. The slots never shrink.
 */
export class PacketIdSlots<T> {
  private values: (T | undefined)[] = [];
  /** When each slot was filled (a counter), so that resends go out in their first order. */
  private order: number[] = [];
  private counter = 0;
  private cursor = 0;
  /** Ids cycle through the first `cycle` slots; doubled once more than half are in use. */
  private cycle = MIN_CYCLE;
  private count = 0;

  /**
   * `first`..`last`: the id range (inclusive) this table allocates from. `maxCounter`: where the
   * order counter starts again (below 2^30, so `order` holds V8 small integers); tests lower it.
   */
  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly maxCounter: number = MAX_COUNTER,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Stores `value` under a free id and returns the id. The caller keeps `size` below the range's length. */
  add(value: T): number {
    const range = this.last - this.first + 1;
    if (this.count >= range) throw new RangeError(`all ${range} packet ids are in flight`);
    while (this.count * 2 > this.cycle && this.cycle < range) this.cycle = Math.min(this.cycle * 2, range);
    let slot = this.cursor;
    // Fewer are in flight than the cycle holds, so a free slot is found.
    for (;;) {
      if (slot >= this.cycle) slot = 0;
      if (slot >= this.values.length) this.grow(slot);
      if (this.values[slot] === undefined) break;
      slot += 1;
    }
    this.values[slot] = value;
    if (this.counter >= this.maxCounter) this.renumber();
    this.order[slot] = ++this.counter;
    this.count += 1;
    this.cursor = slot + 1;
    return slot + this.first;
  }

  get(id: number): T | undefined {
    const slot = id - this.first;
    return slot >= 0 && slot < this.values.length ? this.values[slot] : undefined;
  }

  /** Removes and returns what was under `id` (undefined when nothing was). */
  take(id: number): T | undefined {
    const value = this.get(id);
    if (value === undefined) return undefined;
    this.values[id - this.first] = undefined;
    this.count -= 1;
    return value;
  }

  /** The ids in flight, oldest first (the order they were added in). O(n log n): for reconnects and closes, not per message. */
  ids(): number[] {
    const slots: number[] = [];
    for (let slot = 0; slot < this.values.length; slot++) if (this.values[slot] !== undefined) slots.push(slot);
    slots.sort((a, b) => this.order[a]! - this.order[b]!);
    return slots.map((slot) => slot + this.first);
  }

  /** The values in flight, oldest first. */
  valuesInOrder(): T[] {
    return this.ids().map((id) => this.get(id)!);
  }

  private grow(slot: number): void {
    // Filled with undefined (not left holey), so the arrays stay in V8's packed representation.
    const length = Math.min(Math.max(MIN_CYCLE, this.values.length * 2, slot + 1), this.last - this.first + 1);
    while (this.values.length < length) {
      this.values.push(undefined);
      this.order.push(0);
    }
  }

  /** The counter would leave the small-integer range: the slots in flight are numbered again from 1, in order. */
  private renumber(): void {
    const ids = this.ids();
    ids.forEach((id, index) => {
      this.order[id - this.first] = index + 1;
    });
    this.counter = ids.length;
  }
}

const MIN_CYCLE = 16;
/** Below 2^30, so `order` holds V8 small integers and stays a packed array of them. */
const MAX_COUNTER = 2 ** 30 - 1;
