// The named scenarios, in the order `npm run bench` runs them.
import { mqttConnectStorm } from './mqtt-connect-storm.js';
import { mqttFanout } from './mqtt-fanout.js';
import { mqttQos0Fanin } from './mqtt-qos0-fanin.js';
import { mqttQos1Fanin } from './mqtt-qos1-fanin.js';
import type { Scenario } from './scenario.js';

export type { Scenario, ScenarioOptions, ScenarioOutcome } from './scenario.js';

export const SCENARIOS: readonly Scenario[] = [mqttQos0Fanin, mqttQos1Fanin, mqttFanout, mqttConnectStorm];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
