// mqtt-qos1-fanin — QoS 1 fan-in: 4 publisher processes, each with at most 64 unacknowledged
// PUBLISHes in flight, → 1 QoS 1 subscriber process that acknowledges every message.
//
// Measures: PUBLISHes acknowledged to the publishers per second (headline), PUBLISHes delivered to
// the subscriber per second and their ratio (is the subscriber keeping up, or is the broker
// queueing behind its own in-flight limit toward the subscriber?), publish → receive and publish →
// PUBACK latency, the broker's peak RSS and CPU seconds, and the load generator's CPU per message.
// Mosquitto runs with its default max_inflight_messages (20); `--mosquitto-max-inflight 64` shows
// it with a window matching the publishers'. A publisher sends a new PUBLISH for every PUBACK, as
// MQTT clients do; `--qos1-refill 8` waits for 8 free slots and writes them at once (cheaper for
// generator and broker alike on loopback, so it changes what is measured: not the default).
// Run: npm run bench -- mqtt-qos1-fanin [--target outpost|mosquitto|aedes|host:port] [--quick]
import { runPubSub, windowSeconds } from '../lib/pubsub.js';
import type { Scenario } from './scenario.js';

export const mqttQos1Fanin: Scenario = {
  name: 'mqtt-qos1-fanin',
  description: 'QoS 1, 4 publishers (window 64) → 1 subscriber: acknowledged and delivered msg/s',
  run: (target, options) =>
    runPubSub(target, options, {
      prefix: `bench-q1-${options.seed}`,
      publishers: 4,
      topicOf: (i) => `bench/q1/${options.seed}/${i}`,
      filter: `bench/q1/${options.seed}/+`,
      subscribers: 1,
      subscriberProcesses: 1,
      qos: 1,
      payloadBytes: 64,
      batch: 0,
      pingsInFlight: 0,
      window: 64,
      refillMin: options.qos1RefillMin ?? 1,
      ...windowSeconds(options, { warmupSec: 1, durationSec: 5 }),
      headline: 'acked',
    }),
};
