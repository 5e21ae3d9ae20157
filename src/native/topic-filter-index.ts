/**
 * Matching one topic against many filters: the algorithm of the broker's SubscriptionTrie
 * (src/hub/broker/subscription-trie.ts), over integer ids instead of keyed values, so the same
 * interface can be backed by native/outpost_native.c. This TypeScript version is the
 * specification; the differential test (test/native/) checks the native one, this one,
 * SubscriptionTrie and topicMatches against each other on random filters and topics.
 *
 * Levels are split on '/' exactly as String.split does (empty levels included); '+' and '#' are
 * wildcards wherever they stand as a whole level, other text is literal; a topic starting with
 * '$' is not matched by a wildcard at the first level (MQTT-4.7.2-1); 'a/#' also matches 'a'.
 * Invalid filters are not refused here (the broker validates before it subscribes): they behave
 * as the trie's literal levels do.
 */

/**
 * What both implementations offer. Ids are assigned by `add`, from 0; a removed id is given out
 * again by a later `add` (the most recently removed first), so subscription churn does not grow
 * anything: ids stay below the largest number of filters held at once.
 */
export interface TopicFilterIndex {
  readonly size: number;
  add(filter: string): number;
  /** False when the id is unknown or already removed. */
  remove(id: number): boolean;
  /**
   * Writes the ids of the filters matching `topic` into `out` (in no particular order) and
   * returns how many match; when that exceeds out.length only out.length are written.
   */
  match(topic: string, out: Uint32Array): number;
}

interface Node {
  readonly children: Map<string, Node>;
  readonly ids: number[];
}

function node(): Node {
  return { children: new Map(), ids: [] };
}

export class TsTopicFilterIndex implements TopicFilterIndex {
  private readonly root = node();
  private readonly filters: (string | undefined)[] = [];
  /** Removed ids, reused last-in first-out (as the native index does). */
  private readonly freeIds: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(filter: string): number {
    let current = this.root;
    for (const level of filter.split('/')) {
      let next = current.children.get(level);
      if (next === undefined) {
        next = node();
        current.children.set(level, next);
      }
      current = next;
    }
    const id = this.freeIds.pop() ?? this.filters.length;
    this.filters[id] = filter;
    current.ids.push(id);
    this.count += 1;
    return id;
  }

  remove(id: number): boolean {
    const filter = Number.isInteger(id) && id >= 0 ? this.filters[id] : undefined;
    if (filter === undefined) return false;
    this.filters[id] = undefined;
    this.freeIds.push(id);
    const path: [Node, string][] = [];
    let current = this.root;
    for (const level of filter.split('/')) {
      path.push([current, level]);
      current = current.children.get(level)!;
    }
    current.ids.splice(current.ids.indexOf(id), 1);
    this.count -= 1;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      const child = parent.children.get(level)!;
      if (child.ids.length > 0 || child.children.size > 0) break;
      parent.children.delete(level);
    }
    return true;
  }

  match(topic: string, out: Uint32Array): number {
    const levels = topic.split('/');
    const dollar = topic.charCodeAt(0) === 0x24;
    return walk(this.root, levels, 0, dollar, out, 0);
  }
}

function put(ids: readonly number[], out: Uint32Array, found: number): number {
  for (const id of ids) {
    if (found < out.length) out[found] = id;
    found += 1;
  }
  return found;
}

function walk(current: Node, levels: readonly string[], depth: number, dollar: boolean, out: Uint32Array, found: number): number {
  const wildcardsAllowed = !(dollar && depth === 0);
  if (wildcardsAllowed) {
    const hash = current.children.get('#');
    if (hash !== undefined) found = put(hash.ids, out, found);
  }
  if (depth === levels.length) return put(current.ids, out, found);
  const exact = current.children.get(levels[depth]!);
  if (exact !== undefined) found = walk(exact, levels, depth + 1, dollar, out, found);
  if (wildcardsAllowed) {
    const plus = current.children.get('+');
    if (plus !== undefined) found = walk(plus, levels, depth + 1, dollar, out, found);
  }
  return found;
}
