// TopicFilterIndex: the TypeScript reference matches what the broker's SubscriptionTrie and
// topicMatches match, and the addon gives the reference's results, on random filters, topics and
// removals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SubscriptionTrie } from '../../src/hub/broker/subscription-trie.js';
import { checkTopicFilter, checkTopicName, topicMatches } from '../../src/hub/broker/topic.js';
import { TsTopicFilterIndex, type TopicFilterIndex } from '../../src/native/index.js';
import { candidates, pick, prng } from './implementations.js';

// Well-formed strings only (what Buffer.toString('utf8') gives the broker): the addon sees UTF-8.
const LEVELS = ['a', 'b', 'ab', '', '+', '#', '$SYS', '$', 'é', '€uro', '😀', 'x y', 'a+', '#b'];

function randomLevels(random: () => number, wildcards: boolean): string {
  const count = 1 + Math.floor(random() * 5);
  return Array.from({ length: count }, () => {
    const level = pick(random, LEVELS);
    return !wildcards && (level.includes('+') || level.includes('#')) ? 'a' : level;
  }).join('/');
}

function sortedMatches(index: TopicFilterIndex, topic: string): number[] {
  let out = new Uint32Array(4);
  let count = index.match(topic, out);
  if (count > out.length) {
    const small = Array.from(out);
    out = new Uint32Array(count);
    assert.equal(index.match(topic, out), count, 'the count does not depend on the room given');
    // What was written into the small array is a prefix of the same walk.
    assert.deepEqual(small, Array.from(out.subarray(0, small.length)));
  }
  count = Math.min(count, out.length);
  return Array.from(out.subarray(0, count)).sort((x, y) => x - y);
}

describe('TopicFilterIndex reference agrees with SubscriptionTrie and topicMatches', () => {
  it('same matches for valid filters and topic names, through adds and removes', () => {
    const random = prng(11);
    for (let round = 0; round < 40; round++) {
      const index = new TsTopicFilterIndex();
      const trie = new SubscriptionTrie<number>();
      const live = new Map<number, string>();
      for (let op = 0; op < 400; op++) {
        if (live.size > 0 && random() < 0.25) {
          const id = pick(random, [...live.keys()]);
          assert.equal(index.remove(id), true);
          assert.equal(trie.delete(live.get(id)!, String(id)), true);
          live.delete(id);
          assert.equal(index.remove(id), false, 'a removed id stays removed');
          continue;
        }
        let filter = randomLevels(random, true);
        if (!checkTopicFilter(filter).ok) filter = 'a/#';
        const id = index.add(filter);
        trie.set(filter, String(id), id);
        live.set(id, filter);
      }
      assert.equal(index.size, live.size);
      for (let t = 0; t < 300; t++) {
        const topic = randomLevels(random, false);
        if (!checkTopicName(topic).ok) continue;
        const fromIndex = sortedMatches(index, topic);
        const fromTrie: number[] = [];
        trie.match(topic, (id) => fromTrie.push(id));
        const brute = [...live].filter(([, f]) => topicMatches(f, topic)).map(([id]) => id);
        assert.deepEqual(fromIndex, fromTrie.sort((x, y) => x - y), `round ${round}, topic ${JSON.stringify(topic)}`);
        assert.deepEqual(fromIndex, brute.sort((x, y) => x - y), `round ${round}, topic ${JSON.stringify(topic)} (topicMatches)`);
      }
    }
  });
});

for (const impl of candidates) {
  describe(`TopicFilterIndex: ${impl.implementation} gives the reference's results`, () => {
    it('identical match sets and sizes for random (also invalid) filters and topics, through adds and removes', () => {
      const random = prng(12);
      for (let round = 0; round < 60; round++) {
        const reference = new TsTopicFilterIndex();
        const candidate = impl.createTopicFilterIndex();
        const ids: number[] = [];
        for (let op = 0; op < 600; op++) {
          if (ids.length > 0 && random() < 0.3) {
            // Sometimes an id that is already removed, never added, or not an integer.
            const id = random() < 0.8 ? pick(random, ids) : pick(random, [-1, 1e9, 0.5, ids.length + 3]);
            assert.equal(candidate.remove(id), reference.remove(id), `remove ${id}`);
            continue;
          }
          const filter = randomLevels(random, true);
          const id = reference.add(filter);
          assert.equal(candidate.add(filter), id, `add ${JSON.stringify(filter)}`);
          ids.push(id);
        }
        assert.equal(candidate.size, reference.size);
        for (let t = 0; t < 400; t++) {
          const topic = randomLevels(random, random() < 0.2);
          assert.deepEqual(sortedMatches(candidate, topic), sortedMatches(reference, topic), `round ${round}, topic ${JSON.stringify(topic)}`);
        }
      }
    });

    it('long topics and filters (more than its stack buffers) and many children under one level', () => {
      const reference = new TsTopicFilterIndex();
      const candidate = impl.createTopicFilterIndex();
      const deep = Array.from({ length: 200 }, (_, i) => `level-${i}-${'é'.repeat(i % 7)}`).join('/');
      for (const filter of [deep, `${deep}/#`, deep.replace(/level-5-[^/]*/, '+'), 'x'.repeat(5_000), `${'y'.repeat(3_000)}/+`]) {
        assert.equal(candidate.add(filter), reference.add(filter));
      }
      for (let i = 0; i < 5_000; i++) assert.equal(candidate.add(`devices/dev-${i}/#`), reference.add(`devices/dev-${i}/#`));
      for (let i = 0; i < 5_000; i += 3) assert.equal(candidate.remove(5 + i), reference.remove(5 + i));
      for (const topic of [deep, `${deep}/more`, 'x'.repeat(5_000), `${'y'.repeat(3_000)}/z`, 'devices/dev-4/a', 'devices/dev-5/a/b', 'devices/dev-4999']) {
        assert.deepEqual(sortedMatches(candidate, topic), sortedMatches(reference, topic), topic.slice(0, 40));
      }
      assert.equal(candidate.size, reference.size);
    });

    it('gives removed ids out again (last removed first, as the reference), so churn grows nothing', () => {
      const reference = new TsTopicFilterIndex();
      const candidate = impl.createTopicFilterIndex();
      const held: number[] = [];
      for (let i = 0; i < 10; i++) {
        const id = reference.add(`keep/${i}`);
        assert.equal(candidate.add(`keep/${i}`), id);
        held.push(id);
      }
      let maxId = 0;
      for (let i = 0; i < 100_000; i++) {
        // A client that subscribes and unsubscribes over and over, under a new filter each time.
        const filter = `churn/${i}/+`;
        const id = reference.add(filter);
        assert.equal(candidate.add(filter), id);
        maxId = Math.max(maxId, id);
        if (i % 1000 === 0) assert.deepEqual(sortedMatches(candidate, `churn/${i}/x`), [id]);
        assert.equal(candidate.remove(id), true);
        assert.equal(reference.remove(id), true);
      }
      assert.equal(maxId, 10, 'one id serves the whole churn');
      assert.deepEqual(sortedMatches(candidate, 'keep/3'), [held[3]]);
      assert.equal(candidate.size, 10);
      assert.equal(reference.remove(held[4]!), true);
      assert.equal(candidate.remove(held[4]!), true);
      assert.equal(candidate.add('again'), held[4], 'the id removed last comes back first');
      assert.equal(reference.add('again'), held[4]);
    });

    it('refuses a foreign object as an index', () => {
      assert.throws(() => (impl.createTopicFilterIndex() as unknown as { addon: { filterIndexAdd(i: object, f: string): number } }).addon.filterIndexAdd({}, 'a'), TypeError);
    });
  });
}
