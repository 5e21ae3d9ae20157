// mqtt-qos0-fanin-topics — QoS 0 fan-in over many distinct topics against many subscriptions: a
// gateway publishing 50,000 tags, each its own topic, while 10,000 other subscriptions are held.
//
// Measures what mqtt-qos0-fanin does (delivered msg/s, latency, broker CPU per message), but each
// of the 4 publishers cycles over 12,500 topics (`plant/<seed>/line<p>/tag<nnnnn>`, the digits
// rewritten per message, constant packet size), 50,000 distinct topics in all, round-robin. The
// broker caches trie matches for 10,000 distinct topics (broker.ts matchesOf), so here every
// PUBLISH walks the subscription index: what the native topic filter index is meant to speed up.
// One subscriber takes `plant/<seed>/#` (every message is delivered once); a filler connection
// (mqtt.js, in the harness) holds ~10,000 subscriptions that match none of the published topics,
// most of them on the same branch (`plant/<seed>/…`, exact, '+' and '#'), so the walk visits
// their nodes: 6,050 exact tags outside the published range, 1,000 `plant/S/+/tagN/#`, 1,000
// `plant/S/lineL/+/alarmN`, 500 `plant/S/lineL/tagN/+`, 8 `plant/S/line8..15/#`, and 1,401 in
// another branch (`site/N/#`, `site/N/+/status`, `$SYS/#`): 9,959 filters (fillerSubscriptions).
// A/B: OUTPOST_NATIVE=off (SubscriptionTrie) vs the default (auto: the addon's index when built).
// Run: npm run bench -- mqtt-qos0-fanin-topics [--target outpost|mosquitto|aedes|host:port] [--quick]
import mqtt from 'mqtt';
import { runPubSub } from '../lib/pubsub.js';
import { qos0FaninLoad } from './mqtt-qos0-fanin.js';
import { mulberry32 } from '../loadgen/prng.js';
import type { Scenario } from './scenario.js';

const PUBLISHERS = 4;
const TOPICS_PER_PUBLISHER = 12_500;
/** Tag numbers are 5 digits; published ones are 0 … 12,499, filler ones from UNPUBLISHED up. */
const UNPUBLISHED = 50_000;
const SUBSCRIBE_CHUNK = 200;

export function fillerFilters(seed: number): string[] {
  const next = mulberry32(seed + 7);
  const int = (n: number): number => Math.floor(next() * n);
  const tag = (): string => `tag${UNPUBLISHED + int(UNPUBLISHED)}`;
  const base = `plant/${seed}`;
  const filters = new Set<string>();
  const add = (count: number, make: () => string): void => {
    for (const goal = filters.size + count; filters.size < goal; ) filters.add(make());
  };
  add(6_050, () => `${base}/line${int(8)}/${tag()}`);
  add(1_000, () => `${base}/+/${tag()}/#`);
  add(1_000, () => `${base}/line${int(8)}/+/alarm${int(1_000)}`);
  add(500, () => `${base}/line${int(8)}/${tag()}/+`);
  add(8, () => `${base}/line${8 + filters.size % 8}/#`);
  // Another branch of the tree (IoT Hub's own `devices/…` topics are not general subscriptions).
  add(500, () => `site/${int(2_000)}/#`);
  add(900, () => `site/${int(2_000)}/+/status`);
  filters.add('$SYS/#');
  return [...filters];
}

export const mqttQos0FaninTopics: Scenario = {
  name: 'mqtt-qos0-fanin-topics',
  description: 'QoS 0, 4 publishers over 50,000 distinct topics → 1 subscriber, 10,000 other subscriptions: delivered msg/s',
  run: (target, options) =>
    runPubSub(target, options, {
      ...qos0FaninLoad(options, { prefix: `bench-q0t-${options.seed}`, topicOf: (i) => `plant/${options.seed}/line${i}/tag00000`, filter: `plant/${options.seed}/#` }),
      publishers: PUBLISHERS,
      topicsPerPublisher: TOPICS_PER_PUBLISHER,
      setup: async (endpoint) => {
        const filters = fillerFilters(options.seed);
        const client = await mqtt.connectAsync({ host: endpoint.host, port: endpoint.port, clientId: `bench-q0t-${options.seed}-filler`, clean: true, reconnectPeriod: 0 });
        for (let i = 0; i < filters.length; i += SUBSCRIBE_CHUNK) {
          const granted = await client.subscribeAsync(filters.slice(i, i + SUBSCRIBE_CHUNK), { qos: 0 });
          const refused = granted.filter((g) => g.qos === 128);
          if (refused.length > 0) throw new Error(`filler subscriptions refused: ${refused.map((g) => g.topic).join(', ')}`);
        }
        let received = 0;
        // Mosquitto and Aedes publish their own `$SYS/…` statistics, which `$SYS/#` receives:
        // only the benchmark's published topics count.
        client.on('message', (topic: string) => {
          if (!topic.startsWith('$')) received += 1;
        });
        return {
          params: { distinctTopics: PUBLISHERS * TOPICS_PER_PUBLISHER, fillerSubscriptions: filters.length },
          close: async () => {
            await client.endAsync();
            if (received > 0) throw new Error(`the filler subscriptions matched ${received} messages; they must match none`);
          },
        };
      },
    }),
};
