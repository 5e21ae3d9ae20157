// mqtt-routed — durable routed module-to-module throughput (issue 6): 4 IoT Hub publisher modules
// send QoS 1 module output over MQTT 3.1.1 on TLS (SAS tokens, 256-byte payloads, up to 256
// PUBLISHes awaiting PUBACK each, closed loop: a PUBACK lets the next one go) through a real
// Outpost hub with its store on RocksDB (store.sync interval, the default); a route sends
// everything to the input of one subscriber module, which acknowledges each message.
//
// Measures: messages delivered to the module input per second (headline), acknowledged to the
// publishers per second (durable: PUBACK only once the shard has written the message), publish →
// module input latency p50/p99 (end to end) and publish → PUBACK, the hub's peak RSS and CPU per
// message. Warm-up 2 s, window 5 s. Outpost only (routing and the store are its own). Modules,
// keys and the route are written into the hub's data directory before it starts.
// Variants: mqtt-routed-memory (store off), mqtt-routed-paced (open loop at 50k msg/s offered).
// Run: npm run bench -- mqtt-routed [--quick]   (store.sync: OUTPOST_STORE__SYNC=none|interval|batch)
import { ROUTED_TARGETS, routedSetup, runRouted, type RoutedSpec } from '../lib/routed.js';
import type { Scenario } from './scenario.js';

const SPEC: RoutedSpec = { persistent: true, offeredPerSec: 0 };

export const mqttRouted: Scenario = {
  name: 'mqtt-routed',
  description: 'module output → route → module input, QoS 1 on TLS, store on RocksDB, closed loop: delivered msg/s',
  targets: ROUTED_TARGETS,
  outpostSetup: (dataDir, options) => routedSetup(dataDir, options, SPEC),
  run: (target, options) => runRouted(target, options, SPEC),
};
