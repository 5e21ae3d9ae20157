import type { TopicFilterIndex } from '../../native/index.js';
import type { SubscriptionMatcher } from './subscription-trie.js';

/** Matches per topic the buffer holds before it grows (it grows to the largest count seen). */
const INITIAL_MATCHES = 64;

/**
 * SubscriptionTrie's contract over a TopicFilterIndex (src/native): one index id per (key,
 * filter), values by id. The index walks the same levels in the same order as the trie (a '#'
 * child, then the exact level, then '+'; ids in insertion order at each node), so visits come in
 * the trie's order. The index gives removed ids out again, so `values` is never longer than the
 * most subscriptions held at once.
 */
export class IndexedSubscriptions<V> implements SubscriptionMatcher<V> {
  /** Index id by `key NUL filter`. */
  private readonly ids = new Map<string, number>();
  private readonly values: (V | undefined)[] = [];
  private out = new Uint32Array(INITIAL_MATCHES);

  constructor(private readonly index: TopicFilterIndex) {}

  get size(): number {
    return this.ids.size;
  }

  set(filter: string, key: string, value: V): void {
    const slot = `${key}\u0000${filter}`;
    let id = this.ids.get(slot);
    if (id === undefined) {
      id = this.index.add(filter);
      this.ids.set(slot, id);
    }
    this.values[id] = value;
  }

  delete(filter: string, key: string): boolean {
    const slot = `${key}\u0000${filter}`;
    const id = this.ids.get(slot);
    if (id === undefined) return false;
    this.ids.delete(slot);
    this.index.remove(id);
    this.values[id] = undefined;
    return true;
  }

  match(topic: string, visit: (value: V) => void): void {
    let found = this.index.match(topic, this.out);
    if (found > this.out.length) {
      this.out = new Uint32Array(2 ** Math.ceil(Math.log2(found)));
      found = this.index.match(topic, this.out);
    }
    // `visit` must not match on this object again (it would overwrite the buffer): the broker's
    // visitors only collect.
    const out = this.out;
    for (let i = 0; i < found; i++) visit(this.values[out[i]!]!);
  }
}
