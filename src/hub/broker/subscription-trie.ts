/**
 * Subscriptions indexed by filter level, so matching a topic visits only the branches that can
 * match (cost ~ topic depth × wildcard fan-out, not the number of subscriptions). Values are keyed
 * (one per session and filter) so a re-subscribe replaces instead of duplicating.
 */

interface TrieNode<V> {
  readonly children: Map<string, TrieNode<V>>;
  /** Subscriptions whose filter ends at this node. */
  readonly values: Map<string, V>;
}

function node<V>(): TrieNode<V> {
  return { children: new Map(), values: new Map() };
}

/**
 * What the broker needs from a subscription index: SubscriptionTrie, or IndexedSubscriptions over
 * the native topic filter index (indexed-subscriptions.ts), with identical matches in identical order.
 */
export interface SubscriptionMatcher<V> {
  readonly size: number;
  set(filter: string, key: string, value: V): void;
  delete(filter: string, key: string): boolean;
  match(topic: string, visit: (value: V) => void): void;
}

export class SubscriptionTrie<V> implements SubscriptionMatcher<V> {
  private readonly root: TrieNode<V> = node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(filter: string, key: string, value: V): void {
    let current = this.root;
    for (const level of filter.split('/')) {
      let next = current.children.get(level);
      if (next === undefined) {
        next = node();
        current.children.set(level, next);
      }
      current = next;
    }
    if (!current.values.has(key)) this.count += 1;
    current.values.set(key, value);
  }

  delete(filter: string, key: string): boolean {
    const path: [TrieNode<V>, string][] = [];
    let current = this.root;
    for (const level of filter.split('/')) {
      const next = current.children.get(level);
      if (next === undefined) return false;
      path.push([current, level]);
      current = next;
    }
    if (!current.values.delete(key)) return false;
    this.count -= 1;
    // Prune empty branches so churn of unique filters does not leak memory.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      const child = parent.children.get(level)!;
      if (child.values.size > 0 || child.children.size > 0) break;
      parent.children.delete(level);
    }
    return true;
  }

  /** Calls visit for every subscription whose filter matches the topic. */
  match(topic: string, visit: (value: V) => void): void {
    const levels = topic.split('/');
    // MQTT-4.7.2-1: wildcards at the first level do not match topics starting with '$'.
    const dollar = topic.charCodeAt(0) === 0x24;
    this.walk(this.root, levels, 0, dollar, visit);
  }

  private walk(current: TrieNode<V>, levels: readonly string[], depth: number, dollar: boolean, visit: (value: V) => void): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    if (wildcardsAllowed) {
      // '#' also matches the parent level itself ("a/#" matches "a").
      const hash = current.children.get('#');
      if (hash !== undefined) for (const value of hash.values.values()) visit(value);
    }
    if (depth === levels.length) {
      for (const value of current.values.values()) visit(value);
      return;
    }
    const exact = current.children.get(levels[depth]!);
    if (exact !== undefined) this.walk(exact, levels, depth + 1, dollar, visit);
    if (wildcardsAllowed) {
      const plus = current.children.get('+');
      if (plus !== undefined) this.walk(plus, levels, depth + 1, dollar, visit);
    }
  }
}
