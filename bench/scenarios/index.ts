// The named scenarios, in the order `npm run bench` runs them.
import { amqpRouted } from './amqp-routed.js';
import { amqpTelemetry, amqpTelemetryDurable } from './amqp-telemetry.js';
import { microAmqpCodec } from './micro-amqp-codec.js';
import { microCodec } from './micro-codec.js';
import { microRouteEval } from './micro-route-eval.js';
import { microStoreAppend } from './micro-store-append.js';
import { microTopicMatch } from './micro-topic-match.js';
import { microTwinReported } from './micro-twin-reported.js';
import { microWorkerRoundtrip } from './micro-worker-roundtrip.js';
import { methodsRoundtrip } from './methods-roundtrip.js';
import { mqttAuthStorm } from './mqtt-auth-storm.js';
import { mqttConnectStorm } from './mqtt-connect-storm.js';
import { mqttFanout } from './mqtt-fanout.js';
import { mqttQos0Fanin } from './mqtt-qos0-fanin.js';
import { mqttQos0FaninTopics } from './mqtt-qos0-fanin-topics.js';
import { mqttQos1Fanin } from './mqtt-qos1-fanin.js';
import { mqttRouted } from './mqtt-routed.js';
import { mqttRoutedWs } from './mqtt-routed-ws.js';
import { mqttRoutedMemory } from './mqtt-routed-memory.js';
import { mqttRoutedPaced } from './mqtt-routed-paced.js';
import { mqttRoutedPacedMemory } from './mqtt-routed-paced-memory.js';
import { mqttTlsStorm } from './mqtt-tls-storm.js';
import { idleDevices, idleDevicesPlain } from './idle-devices.js';
import { idleFloor } from './idle-floor.js';
import { upstreamDrain, upstreamDrain100, upstreamDrain1000, upstreamDrain100Unbatched, upstreamDrainUnbatched } from './upstream-drain.js';
import type { Scenario } from './scenario.js';

export type { BrokerScenario, LocalScenario, Scenario, ScenarioOptions, ScenarioOutcome } from './scenario.js';

export const SCENARIOS: readonly Scenario[] = [mqttQos0Fanin, mqttQos0FaninTopics, mqttQos1Fanin, mqttFanout, mqttConnectStorm, mqttTlsStorm, mqttAuthStorm, idleDevices, idleDevicesPlain, idleFloor, mqttRouted, mqttRoutedMemory, mqttRoutedPaced, mqttRoutedPacedMemory, mqttRoutedWs, amqpTelemetry, amqpTelemetryDurable, amqpRouted, microCodec, microAmqpCodec, microTopicMatch, microRouteEval, microWorkerRoundtrip, microStoreAppend, microTwinReported, methodsRoundtrip, upstreamDrain, upstreamDrainUnbatched, upstreamDrain100, upstreamDrain100Unbatched, upstreamDrain1000];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
