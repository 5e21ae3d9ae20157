// amqp-routed — durable routed module-to-module throughput over AMQP 1.0 (issue 17), the
// counterpart of mqtt-routed: 4 publisher modules (one C Proton process and TLS connection each,
// SASL PLAIN with the module's SAS token) send module output (`iothub-outputname` out, 256-byte
// bodies, at most 256 unsettled each, closed loop) through a real Outpost hub with its store on
// RocksDB; mqtt-routed's route sends it to the input of module `filter`, whose receiving link
// (credit 1000) accepts every message. Headline: delivered to the module input per second; also
// settled-accepted per second (durable), end-to-end latency. Outpost only. Warm-up 2 s, window 5 s.
// Run: npm run bench -- mqtt-routed amqp-routed --target outpost   (compare in the same run)
import { AMQP_ROUTED_TARGETS, amqpSetup, runAmqpRouted } from '../lib/amqp-flows.js';
import type { Scenario } from './scenario.js';

export const amqpRouted: Scenario = {
  name: 'amqp-routed',
  description: 'module output → route → module input over AMQP 1.0 on TLS, store on RocksDB, closed loop: delivered msg/s',
  targets: AMQP_ROUTED_TARGETS,
  outpostSetup: (dataDir, options) => amqpSetup(dataDir, options),
  run: (target, options) => runAmqpRouted(target, options),
};
