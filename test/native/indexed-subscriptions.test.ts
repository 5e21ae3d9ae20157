// IndexedSubscriptions (the broker's matcher over a TopicFilterIndex) against SubscriptionTrie: the
// same values visited in the same order, through sets, replacements and deletes of (key, filter)
// pairs, over the TypeScript index and the addon's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IndexedSubscriptions } from '../../src/hub/broker/indexed-subscriptions.js';
import { SubscriptionTrie } from '../../src/hub/broker/subscription-trie.js';
import { checkTopicFilter } from '../../src/hub/broker/topic.js';
import { candidates, pick, prng, typescript } from './implementations.js';

const LEVELS = ['a', 'b', 'ab', '', '+', '#', '$SYS', 'é'];
const KEYS = ['s1', 's2', 's3', 's4', 's5'];

function randomLevels(random: () => number, wildcards: boolean): string {
  const count = 1 + Math.floor(random() * 4);
  return Array.from({ length: count }, () => {
    const level = pick(random, LEVELS);
    return !wildcards && (level === '+' || level === '#') ? 'a' : level;
  }).join('/');
}

function visits<V>(matcher: { match(topic: string, visit: (value: V) => void): void }, topic: string): V[] {
  const seen: V[] = [];
  matcher.match(topic, (value) => seen.push(value));
  return seen;
}

describe('IndexedSubscriptions agrees with SubscriptionTrie', () => {
  for (const implementation of [typescript, ...candidates]) {
    it(`same visits in the same order (${implementation.implementation} index)`, () => {
      const random = prng(23);
      for (let round = 0; round < 30; round++) {
        const trie = new SubscriptionTrie<string>();
        const indexed = new IndexedSubscriptions<string>(implementation.createTopicFilterIndex());
        const live: [string, string][] = [];
        for (let op = 0; op < 300; op++) {
          if (live.length > 0 && random() < 0.3) {
            const [filter, key] = live.splice(Math.floor(random() * live.length), 1)[0]!;
            assert.equal(indexed.delete(filter, key), trie.delete(filter, key));
            assert.equal(indexed.delete(filter, key), false, 'a deleted pair stays deleted');
            continue;
          }
          let filter = randomLevels(random, true);
          if (!checkTopicFilter(filter).ok) filter = 'a/#';
          const key = pick(random, KEYS);
          // A pair set again replaces its value in place (a re-subscribe with new options).
          const value = `${key}:${filter}:${op}`;
          if (!live.some(([f, k]) => f === filter && k === key)) live.push([filter, key]);
          trie.set(filter, key, value);
          indexed.set(filter, key, value);
        }
        assert.equal(indexed.size, trie.size);
        for (let t = 0; t < 200; t++) {
          const topic = randomLevels(random, false);
          assert.deepEqual(visits(indexed, topic), visits(trie, topic), topic);
        }
      }
    });
  }

  it('grows its id buffer past the initial room', () => {
    const trie = new SubscriptionTrie<number>();
    const indexed = new IndexedSubscriptions<number>((candidates[0] ?? typescript).createTopicFilterIndex());
    for (let i = 0; i < 500; i++) {
      trie.set(i % 2 === 0 ? 'a/#' : 'a/+', `s${i}`, i);
      indexed.set(i % 2 === 0 ? 'a/#' : 'a/+', `s${i}`, i);
    }
    assert.deepEqual(visits(indexed, 'a/b'), visits(trie, 'a/b'));
    assert.equal(visits(indexed, 'a/b').length, 500);
  });
});
