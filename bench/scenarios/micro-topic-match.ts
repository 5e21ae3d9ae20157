// micro-topic-match — matching topics against 10,000 subscriptions on one core, no broker (a
// 'local' scenario).
//
// Measures topics/s: each topic matched against all 10,000 filters, fixed seed. Filters: 6,550
// exact (`plant-7/line-L/mN/metric`), 2,000 with '+' (`plant-7/+/mN/#`, `plant-7/line-L/mN/+`),
// 540 with '#' (`plant-7/line-L/#`, `devices/dev-N/#`), 910 IoT Hub-style
// (`devices/dev-N/messages/devicebound/#`, `$iothub/twin/res/#`); 1,024 topics of the same shapes,
// some matching several filters and some none (matchesPerTopic in the JSON). The broker caches
// matches by topic (broker.ts matchesOf), so this walk is what a topic costs the first time.
//   subscription-trie   the broker's SubscriptionTrie (src/hub/broker), visiting each match (headline)
//   index-ts            src/native/topic-filter-index.ts: the same walk over integer ids
//   index-native        the same interface in the N-API addon (when it is built)
//   topicMatches        topicMatches against every filter in turn (what a trie saves), 1/16 of the topics
// Ratios in the JSON: trieVsLinear, nativeMatchSpeedup (index-native ÷ index-ts).
// Run: npm run bench -- micro-topic-match [--quick]   (OUTPOST_NATIVE=off leaves the addon out)
import { SubscriptionTrie } from '../../src/hub/broker/subscription-trie.js';
import { topicMatches } from '../../src/hub/broker/topic.js';
import { loadNative, TsTopicFilterIndex, type TopicFilterIndex } from '../../src/native/index.js';
import { mulberry32 } from '../loadgen/prng.js';
import { benchNativeMode, consume, measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import type { LocalScenario } from './scenario.js';

const FILTERS = 10_000;
const TOPICS = 1_024;
const LINEAR_EVERY = 16;
const METRICS = ['temperature', 'pressure', 'status', 'rpm', 'vibration'];

export function makeFilters(seed: number): string[] {
  const next = mulberry32(seed);
  const int = (n: number): number => Math.floor(next() * n);
  const filters: string[] = [];
  for (let i = 0; i < 6_550; i++) filters.push(`plant-7/line-${int(8)}/m${int(500)}/${METRICS[int(METRICS.length)]!}`);
  for (let i = 0; i < 1_000; i++) filters.push(`plant-7/+/m${int(500)}/#`);
  for (let i = 0; i < 1_000; i++) filters.push(`plant-7/line-${int(8)}/m${int(500)}/+`);
  for (let i = 0; i < 40; i++) filters.push(`plant-7/line-${int(8)}/#`);
  for (let i = 0; i < 500; i++) filters.push(`devices/dev-${int(2_000)}/#`);
  for (let i = 0; i < 900; i++) filters.push(`devices/dev-${int(2_000)}/messages/devicebound/#`);
  for (let i = 0; i < 10; i++) filters.push('$iothub/twin/res/#');
  return filters;
}

export function makeTopics(seed: number): string[] {
  const next = mulberry32(seed + 1);
  const int = (n: number): number => Math.floor(next() * n);
  return Array.from({ length: TOPICS }, () => {
    const shape = next();
    if (shape < 0.6) return `plant-7/line-${int(8)}/m${int(500)}/${METRICS[int(METRICS.length)]!}`;
    if (shape < 0.8) return `devices/dev-${int(2_000)}/messages/devicebound/%24.to=%2Fdevices%2Fdev/x`;
    if (shape < 0.9) return `$iothub/twin/res/200/?$rid=${int(1_000)}`;
    return `site/${int(100)}/unmatched/topic`;
  });
}

export const microTopicMatch: LocalScenario = {
  kind: 'local',
  name: 'micro-topic-match',
  description: 'topic vs 10k subscriptions (SubscriptionTrie, filter index TS/native, linear topicMatches): topics/s',
  async run(options) {
    const filters = makeFilters(options.seed);
    const topics = makeTopics(options.seed);
    const native = loadNative(benchNativeMode());

    const trie = new SubscriptionTrie<number>();
    filters.forEach((f, i) => trie.set(f, `session-${i}`, i));
    const indexes: [string, TopicFilterIndex][] = [['index-ts', new TsTopicFilterIndex()]];
    if (native.implementation === 'native') indexes.push(['index-native', native.createTopicFilterIndex()]);
    for (const [, index] of indexes) for (const f of filters) index.add(f);
    const out = new Uint32Array(FILTERS);

    // Every variant must find the same matches: check before timing anything.
    let matches = 0;
    for (const topic of topics) {
      const fromTrie: number[] = [];
      trie.match(topic, (id) => fromTrie.push(id));
      matches += fromTrie.length;
      const expected = fromTrie.sort((a, b) => a - b).join();
      for (const [name, index] of indexes) {
        const n = index.match(topic, out);
        if (Array.from(out.subarray(0, n)).sort((a, b) => a - b).join() !== expected) throw new Error(`${name} disagrees with SubscriptionTrie on ${topic}`);
      }
    }

    let visited = 0;
    const visit = (id: number): void => {
      visited += id;
    };
    const variants: VariantSpec[] = [
      {
        name: 'subscription-trie',
        what: "the broker's SubscriptionTrie, a callback per match",
        unit: 'topics',
        pass: () => {
          for (const topic of topics) trie.match(topic, visit);
          consume(visited);
          return topics.length;
        },
      },
      ...indexes.map(
        ([name, index]): VariantSpec => ({
          name,
          what: `TopicFilterIndex (${name === 'index-ts' ? 'TypeScript' : 'N-API addon'}), ids into a Uint32Array`,
          unit: 'topics',
          pass: () => {
            let n = 0;
            for (const topic of topics) n += index.match(topic, out);
            consume(n);
            return topics.length;
          },
        }),
      ),
      {
        name: 'topicMatches',
        what: 'topicMatches against each of the 10,000 filters',
        unit: 'topics',
        pass: () => {
          let n = 0;
          for (let t = 0; t < topics.length; t += LINEAR_EVERY) for (const f of filters) if (topicMatches(f, topics[t]!)) n += 1;
          consume(n);
          return Math.ceil(topics.length / LINEAR_EVERY);
        },
      },
    ];
    const timing = microTiming(options);
    const measured = await measureVariants(variants, timing, 'subscription-trie');
    return microOutcome({
      params: { filters: FILTERS, topics: TOPICS, seed: options.seed, native: native.implementation },
      variants: measured,
      headline: 'subscription-trie',
      timing,
      metrics: { matchesPerTopic: matches / topics.length },
      ratios: [
        ['trieVsLinear', 'subscription-trie', 'topicMatches'],
        ['indexTsVsTrie', 'index-ts', 'subscription-trie'],
        ['nativeMatchSpeedup', 'index-native', 'index-ts'],
      ],
      warnings: native.implementation === 'native' ? [] : [`native addon not measured: ${native.reason ?? ''}`],
    });
  },
};
