// mqtt-routed-memory — mqtt-routed with the store off (store.persistent false: the in-memory
// store, nothing written to disk), beside it to show what persistence costs. Same flow, figures
// and window as mqtt-routed.
// Run: npm run bench -- mqtt-routed-memory [--quick]
import { ROUTED_TARGETS, routedSetup, runRouted, type RoutedSpec } from '../lib/routed.js';
import type { Scenario } from './scenario.js';

const SPEC: RoutedSpec = { persistent: false, offeredPerSec: 0 };

export const mqttRoutedMemory: Scenario = {
  name: 'mqtt-routed-memory',
  description: 'mqtt-routed with the store in memory (persistence off): delivered msg/s',
  targets: ROUTED_TARGETS,
  outpostSetup: (dataDir, options) => routedSetup(dataDir, options, SPEC),
  run: (target, options) => runRouted(target, options, SPEC),
};
