// mqtt-routed-paced-memory — mqtt-routed-paced with the store in memory (persistence off), beside
// it to show what persistence adds to the latency at 50k msg/s offered.
// Run: npm run bench -- mqtt-routed-paced-memory [--quick]
import { ROUTED_TARGETS, routedSetup, runRouted, type RoutedSpec } from '../lib/routed.js';
import type { Scenario } from './scenario.js';

const SPEC: RoutedSpec = { persistent: false, offeredPerSec: 50_000 };

export const mqttRoutedPacedMemory: Scenario = {
  name: 'mqtt-routed-paced-memory',
  description: 'mqtt-routed-paced with the store in memory (persistence off): p99 end-to-end latency',
  targets: ROUTED_TARGETS,
  outpostSetup: (dataDir, options) => routedSetup(dataDir, options, SPEC),
  run: (target, options) => runRouted(target, options, SPEC),
};
