// mqtt-routed-paced — mqtt-routed (store on RocksDB) in open loop: the publishers offer 50,000
// msg/s in all, whatever the hub does (the k-th message is due at start + k / 50,000 s and carries
// that instant, so a message held back by a full window counts its wait), for issue 6's "p99
// end-to-end latency under 20 ms at 50k msg/s". Headline: delivered msg/s; the figure to read is
// the end-to-end p99, and the backlog of messages due but not sent at the end of the window (the
// hub not keeping up). Warm-up 2 s, window 5 s.
// Run: npm run bench -- mqtt-routed-paced [--quick]
import { ROUTED_TARGETS, routedSetup, runRouted, type RoutedSpec } from '../lib/routed.js';
import type { Scenario } from './scenario.js';

const SPEC: RoutedSpec = { persistent: true, offeredPerSec: 50_000 };

export const mqttRoutedPaced: Scenario = {
  name: 'mqtt-routed-paced',
  description: 'mqtt-routed in open loop at 50k msg/s offered, store on RocksDB: p99 end-to-end latency',
  targets: ROUTED_TARGETS,
  outpostSetup: (dataDir, options) => routedSetup(dataDir, options, SPEC),
  run: (target, options) => runRouted(target, options, SPEC),
};
