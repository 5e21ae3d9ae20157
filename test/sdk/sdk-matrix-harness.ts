/**
 * One real hub process serving all four transports of the Azure IoT device SDK for Node — `Mqtt`
 * (MQTT over TLS), `Amqp` (AMQP 1.0 over TLS), `MqttWs` and `AmqpWs` (both over WebSocket on the
 * HTTPS listener) — and what the four-transport matrix needs to drive the same scenarios over each:
 * an SDK client opened over a named transport, what a receiver sees as a message's sender, the
 * protocol-level refusal of a wrong key, and the hub's control API (twins, C2D).
 *
 * Each transport has its own identities (`dev-<t>`, `sender-<t>`, `receiver-<t>` under the edge
 * device) and routes, so the transports share one hub without one's messages reaching another's
 * receiver; sharing the hub is deliberate: a defect that one transport's connections leave behind
 * for another's (as the AmqpWs-after-MqttWs one) shows up here, and one hub start instead of four
 * keeps the file quick on a loaded machine.
 *
 * The SDK's WebSocket transports dial port 443 of GatewayHostName; their `webSocketAgent` option
 * (meant for proxies) sends them to the hub's HTTPS port, as does `http.agent` for invokeMethod
 * (websocket-harness.ts, methods-sdk-harness.ts): every byte of the upgrade and the protocol is the SDK's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildConnectionString, IdentityRegistry } from '../../src/hub/auth/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { childEnv, spawnOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { agentFor } from '../websocket/websocket-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { Mqtt, MqttWs } = require('azure-iot-device-mqtt') as Record<string, unknown>;
const { Amqp, AmqpWs } = require('azure-iot-device-amqp') as Record<string, unknown>;
const { ReceiverLink } = require('azure-iot-amqp-base/dist/receiver_link.js') as { ReceiverLink: { prototype: { emit(event: string, ...args: unknown[]): boolean } } };
// The mqtt.js the SDK's MQTT transports use (azure-iot-mqtt-base has its own copy).
const sdkMqtt = require(require.resolve('mqtt', { paths: [require.resolve('azure-iot-mqtt-base')] })) as { MqttClient: { prototype: { emit(event: string, ...args: unknown[]): boolean } } };

export const EDGE = 'edge-sdk';
export const HUB = 'matrixhub.azure-devices.net';
const HUB_START_TIMEOUT_MS = 60_000;

export type TransportName = 'Mqtt' | 'Amqp' | 'MqttWs' | 'AmqpWs';
export const TRANSPORTS: readonly TransportName[] = ['Mqtt', 'Amqp', 'MqttWs', 'AmqpWs'];

/** The protocol a transport speaks, which decides where a receiver finds the hub's annotations. */
export function protocolOf(transport: TransportName): 'mqtt' | 'amqp' {
  return transport.startsWith('Mqtt') ? 'mqtt' : 'amqp';
}

/** The identities of one transport's scenarios. */
export function idsOf(transport: TransportName): { device: string; sender: string; receiver: string } {
  const t = transport.toLowerCase();
  return { device: `dev-${t}`, sender: `sender-${t}`, receiver: `receiver-${t}` };
}

/**
 * Per transport: its device's telemetry to its receiver's `telemetry` input, its sender's
 * `readings` output to the receiver's `readings` input. `{$name}`, not `$name`: as in Azure, an
 * application property literally named `$connectionModuleId` shadows the system property in
 * `$connectionModuleId` (docs/routing.md), so a route a sender must not steer uses the braces.
 */
function routesFor(transport: TransportName): Record<string, string> {
  const { device, sender, receiver } = idsOf(transport);
  const t = transport.toLowerCase();
  return {
    [`telemetry_${t}`]: `FROM /messages/* WHERE NOT IS_DEFINED({$connectionModuleId}) AND {$connectionDeviceId} = '${device}' INTO BrokeredEndpoint("/modules/${receiver}/inputs/telemetry")`,
    [`readings_${t}`]: `FROM /messages/modules/${sender}/outputs/readings INTO BrokeredEndpoint("/modules/${receiver}/inputs/readings")`,
  };
}

export interface MatrixHub {
  readonly outpost: OutpostProcess;
  readonly mqttPort: number;
  readonly amqpPort: number;
  readonly httpsPort: number;
  readonly ca: string;
  readonly dataDir: string;
  readonly registry: IdentityRegistry;
  readonly control: HubControlClient;
  readonly clients: { close(): Promise<unknown> }[];
  readonly remove: () => void;
}

/** Adds every transport's identities and routes, plus `more` identities, and starts `outpost hub` with all listeners on ephemeral ports. */
export async function setUpMatrixHub(more: (registry: IdentityRegistry) => void = () => undefined): Promise<MatrixHub> {
  const dir = tempDir('outpost-sdk-matrix-');
  const dataDir = join(dir.path, 'data');
  const manifest = join(dir.path, 'deployment.json');
  writeFileSync(manifest, hubManifest(Object.assign({}, ...TRANSPORTS.map(routesFor))));
  // In-process: a CLI process per identity costs seconds on a loaded machine.
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
  for (const transport of TRANSPORTS) {
    const { device, sender, receiver } = idsOf(transport);
    registry.add({ deviceId: device });
    registry.add({ deviceId: EDGE, moduleId: sender });
    registry.add({ deviceId: EDGE, moduleId: receiver });
  }
  more(registry);
  const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', manifest], {
    env: childEnv({ OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB }),
  });
  try {
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', HUB_START_TIMEOUT_MS);
    // The control socket (twins, C2D) opens just after hub.ready.
    await outpost.waitFor((line) => line.event === 'hub.control_listening', HUB_START_TIMEOUT_MS);
    const ports = ready.ports as { mqtt: number; amqp: number; https: number };
    return {
      outpost,
      mqttPort: ports.mqtt,
      amqpPort: ports.amqp,
      httpsPort: ports.https,
      ca: readFileSync(String(ready.caFile), 'utf8'),
      dataDir,
      registry,
      control: new HubControlClient(join(dataDir, HUB_CONTROL_SOCKET)),
      clients: [],
      remove: dir.remove,
    };
  } catch (error) {
    await stopQuietly(outpost);
    dir.remove();
    throw error;
  }
}

export async function tearDownMatrixHub(hub: MatrixHub | undefined): Promise<void> {
  if (hub === undefined) return;
  await Promise.all(hub.clients.map((c) => c.close().catch(() => undefined)));
  await stopQuietly(hub.outpost);
  hub.remove();
}

const transportClass: Record<TransportName, unknown> = { Mqtt, Amqp, MqttWs, AmqpWs };

/**
 * The identity's connection string for `transport`: GatewayHostName `localhost:<port>` for the TLS
 * transports (the SDK honours the port), `localhost` for the WebSocket ones (443, redirected by the agent).
 */
export function connectionString(hub: MatrixHub, transport: TransportName, deviceId: string, moduleId?: string, key?: string): string {
  const record = hub.registry.get(deviceId, moduleId);
  if (record === undefined) throw new Error(`${deviceId}/${moduleId} is not in the registry`);
  const gateway = transport === 'Mqtt' ? `localhost:${hub.mqttPort}` : transport === 'Amqp' ? `localhost:${hub.amqpPort}` : 'localhost';
  const cs = buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: gateway });
  return key === undefined ? cs : cs.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${key}`);
}

/** The SDK client for `transport`, with the hub's CA and the agents, not opened. */
export async function makeClient(hub: MatrixHub, transport: TransportName, kind: 'device' | 'module', cs: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(cs, transportClass[transport]);
  const options: Record<string, unknown> = { ca: hub.ca, http: { agent: agentFor(hub.httpsPort) } };
  if (transport === 'MqttWs') options.mqtt = { webSocketAgent: agentFor(hub.httpsPort) };
  if (transport === 'AmqpWs') options.amqp = { webSocketAgent: agentFor(hub.httpsPort) };
  await client.setOptions(options);
  hub.clients.push(client);
  return client;
}

/** An SDK device or module client over `transport`, opened; `beforeOpen` adds listeners the SDK acts on at open (C2D). */
export async function openClient(hub: MatrixHub, transport: TransportName, deviceId: string, moduleId?: string, beforeOpen: (client: any) => void = () => undefined): Promise<any> {
  const client = await makeClient(hub, transport, moduleId === undefined ? 'device' : 'module', connectionString(hub, transport, deviceId, moduleId));
  beforeOpen(client);
  await client.open();
  return client;
}

/**
 * Who the hub says sent a message, as the receiving SDK exposes it: over MQTT the `$.cdid` and
 * `$.cmid` topic properties (every occurrence: a forged one next to the hub's would show), over
 * AMQP the `iothub-connection-device-id` / `-module-id` message annotations.
 */
export function attributionOf(protocol: 'mqtt' | 'amqp', message: any): { deviceIds: string[]; moduleIds: string[] } {
  if (protocol === 'amqp') {
    const annotations = message.transportObj?.message_annotations ?? {};
    const pick = (key: string) => (annotations[key] === undefined ? [] : [String(annotations[key])]);
    return { deviceIds: pick('iothub-connection-device-id'), moduleIds: pick('iothub-connection-module-id') };
  }
  const deviceIds: string[] = [];
  const moduleIds: string[] = [];
  for (let i = 0; i < message.properties.count(); i++) {
    const { key, value } = message.properties.getItem(i);
    if (key === '$.cdid') deviceIds.push(value);
    if (key === '$.cmid') moduleIds.push(value);
  }
  return { deviceIds, moduleIds };
}

/** What a sender adds to pose as someone else: every name under which a receiver could read a sender id. */
export const FORGED_ATTRIBUTION: Readonly<Record<string, string>> = {
  '$.cdid': 'forged-device',
  '$.cmid': 'forged-module',
  'iothub-connection-device-id': 'forged-device',
  'iothub-connection-module-id': 'forged-module',
  '$connectionDeviceId': 'forged-device',
  '$connectionModuleId': 'forged-module',
};

/** Inputs a module client receives: each is completed, and pushed to the list of its input name. */
export function collectInputs(client: any): Map<string, any[]> {
  const byInput = new Map<string, any[]>();
  client.on('inputMessage', (name: string, message: any) => {
    let list = byInput.get(name);
    if (list === undefined) byInput.set(name, (list = []));
    list.push(message);
    client.complete(message, () => undefined);
  });
  return byInput;
}

/**
 * Waits until `items` (filled by SDK events) has `count` entries, checking after each turn of the
 * event loop the SDK delivers on; fails at the deadline with how many came.
 */
export async function arrived<T>(items: () => readonly T[], count: number, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (items().length < count) {
    if (Date.now() > deadline) throw new Error(`${what}: ${items().length} of ${count} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves with the first `event` for which `accept` holds, or fails at the deadline. */
export function eventWhere<T extends unknown[]>(emitter: { on(e: string, fn: (...a: any[]) => void): unknown; removeListener(e: string, fn: (...a: any[]) => void): unknown }, event: string, accept: (...args: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: any[]) => {
      if (!accept(...(args as T))) return;
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`no matching '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** A callback-style SDK call as a promise. */
export function callback<T = void>(run: (done: (error?: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

/**
 * The `$cbs` put-token responses the SDK's AMQP clients receive in this process (the
 * application properties of each, as sent by the hub), recorded from the SDK's own receiver
 * links: the SDK reduces a refusal to UnauthorizedError(status-description) and drops the
 * status-code, which is what a test of the refusal must see.
 */
export const cbsResponses: { address: string; properties: Record<string, unknown> }[] = [];
const originalEmit = ReceiverLink.prototype.emit;
ReceiverLink.prototype.emit = function emit(this: { _linkAddress?: string }, event: string, ...args: unknown[]): boolean {
  if (event === 'message' && this._linkAddress === '$cbs') {
    const message = args[0] as { application_properties?: Record<string, unknown> };
    cbsResponses.push({ address: '$cbs', properties: { ...(message.application_properties ?? {}) } });
  }
  return originalEmit.call(this, event, ...args);
};

/**
 * The CONNACK packets the SDK's MQTT clients receive in this process, recorded from the mqtt.js
 * client it uses: on a first connection the SDK replaces the mqtt.js error (and its code) with
 * `Error('Failure on first connection …')`, so the return code is read from the packet itself.
 */
export const connacks: { returnCode: number }[] = [];
const originalMqttEmit = sdkMqtt.MqttClient.prototype.emit;
sdkMqtt.MqttClient.prototype.emit = function emit(this: unknown, event: string, ...args: unknown[]): boolean {
  const packet = args[0] as { cmd?: string; returnCode?: number } | undefined;
  if (event === 'packetreceive' && packet?.cmd === 'connack') connacks.push({ returnCode: packet.returnCode ?? -1 });
  return originalMqttEmit.call(this, event, ...args);
};
