// mqtt-routed-ws — mqtt-routed with both module clients on MQTT over WebSocket (issue 17): the
// same load (4 publisher modules, QoS 1, up to 256 awaiting PUBACK each, 256-byte payloads,
// closed loop; one subscriber module; store on RocksDB), the same route, but every connection is
// a WebSocket (subprotocol `mqtt`) at `/$iothub/websocket` on the hub's HTTPS listener instead of
// MQTT over TLS on 8883; TLS on both. Run it beside mqtt-routed in one run to compare:
//   npm run bench -- mqtt-routed mqtt-routed-ws --target outpost
// The generator frames each write as one binary frame (bench/loadgen/ws-client.ts).
import { ROUTED_TARGETS, routedSetup, runRouted, type RoutedSpec } from '../lib/routed.js';
import type { Scenario } from './scenario.js';

const SPEC: RoutedSpec = { persistent: true, offeredPerSec: 0, websocket: true };

export const mqttRoutedWs: Scenario = {
  name: 'mqtt-routed-ws',
  description: 'mqtt-routed over MQTT over WebSocket (HTTPS listener, /$iothub/websocket): delivered msg/s',
  targets: ROUTED_TARGETS,
  outpostSetup: (dataDir, options) => routedSetup(dataDir, options, SPEC),
  run: (target, options) => runRouted(target, options, SPEC),
};
