// mqtt-qos0-fanin — QoS 0 fan-in: 4 publisher processes → 1 subscriber process through the broker.
//
// Measures: PUBLISHes delivered to the subscriber per second at saturation (headline), publish →
// receive latency p50/p99 (timestamp in each 64-byte payload), the broker's peak RSS and CPU
// seconds, and the load generator's CPU per message beside the broker's.
// Each publisher writes 64 PUBLISHes followed by a PINGREQ and keeps at most 4 such writes
// unanswered: the broker answers PINGREQ after the PUBLISHes before it, so what waits in socket
// buffers stays bounded and latency is the broker's, not the kernel's.
// Run: npm run bench -- mqtt-qos0-fanin [--target outpost|mosquitto|aedes|host:port] [--quick]
import { runPubSub, windowSeconds, type PubSubSpec } from '../lib/pubsub.js';
import type { Scenario, ScenarioOptions } from './scenario.js';

/** The QoS 0 fan-in load (4 publishers, 64-byte payloads, 64 per write) for any topics and filter. */
export function qos0FaninLoad(options: ScenarioOptions, topics: Pick<PubSubSpec, 'prefix' | 'topicOf' | 'filter'>): PubSubSpec {
  return {
    ...topics,
    publishers: 4,
    subscribers: 1,
    subscriberProcesses: 1,
    qos: 0,
    payloadBytes: 64,
    batch: 64,
    pingsInFlight: 4,
    window: 0,
    refillMin: 1,
    ...windowSeconds(options, { warmupSec: 1, durationSec: 5 }),
    headline: 'delivered',
  };
}

export const mqttQos0Fanin: Scenario = {
  name: 'mqtt-qos0-fanin',
  description: 'QoS 0, 4 publishers → 1 subscriber, 64-byte payloads: delivered msg/s and latency',
  run: (target, options) =>
    runPubSub(target, options, qos0FaninLoad(options, { prefix: `bench-q0-${options.seed}`, topicOf: (i) => `bench/q0/${options.seed}/${i}`, filter: `bench/q0/${options.seed}/+` })),
};
