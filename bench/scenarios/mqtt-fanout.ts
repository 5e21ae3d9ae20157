// mqtt-fanout — fan-out: 1 publisher process → 100 subscriber connections (spread over 2
// processes), all on one topic, QoS 0.
//
// Measures: PUBLISHes delivered per second summed over all subscribers (headline; one publish is
// 100 deliveries), publish → receive latency, the broker's peak RSS and CPU seconds, and the load
// generator's CPU per delivered message. The publisher writes 16 PUBLISHes plus a PINGREQ per
// write, at most 2 writes unanswered (see mqtt-qos0-fanin for why): 32 publishes, so 3,200
// deliveries, in flight at most.
// Run: npm run bench -- mqtt-fanout [--target outpost|mosquitto|aedes|host:port] [--quick] [--clients N]
import { runPubSub, windowSeconds } from '../lib/pubsub.js';
import type { Scenario } from './scenario.js';

const SUBSCRIBERS = 100;

export const mqttFanout: Scenario = {
  name: 'mqtt-fanout',
  description: 'QoS 0, 1 publisher → 100 subscribers on one topic: delivered msg/s',
  run: (target, options) =>
    runPubSub(target, options, {
      prefix: `bench-fo-${options.seed}`,
      publishers: 1,
      topicOf: () => `bench/fo/${options.seed}`,
      filter: `bench/fo/${options.seed}`,
      subscribers: options.clients ?? SUBSCRIBERS,
      subscriberProcesses: 2,
      qos: 0,
      payloadBytes: 64,
      batch: 16,
      pingsInFlight: 2,
      window: 0,
      refillMin: 1,
      ...windowSeconds(options, { warmupSec: 1, durationSec: 5 }),
      headline: 'delivered',
    }),
};
