/**
 * A real hub process (MQTT over TLS and HTTPS/WebSocket on ephemeral ports) with identities added
 * in-process before it starts, routes from a deployment manifest and a user-topic policy, for the
 * MQTT-over-WebSocket tests: the Azure IoT device SDK's MqttWs transport, mqtt.js over wss:// and
 * the ws client for what neither sends.
 *
 * The SDK's WebSocket transports always connect to port 443 of GatewayHostName (mqtt_ws.js builds
 * `wss://<host>:443/$iothub/websocket`). It takes a WebSocket agent (setOptions({mqtt:
 * {webSocketAgent}}), meant for proxies), which the tests use to reach the hub's actual HTTPS port,
 * as the methods tests do for invokeMethod: the upgrade itself (path, subprotocol, TLS, client
 * certificate) and every MQTT byte are the SDK's.
 */
import { Agent } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { buildConnectionString, IdentityRegistry } from '../../src/hub/auth/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { sasLogin } from '../helpers/sas-hub.js';
import { childEnv, spawnOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, X509AuthenticationProvider } = require('azure-iot-device') as Record<string, any>;
const { MqttWs } = require('azure-iot-device-mqtt') as { MqttWs: unknown };

export const EDGE = 'edge-ws';
export const HUB = 'wshub.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
/** Registered identities may publish and subscribe under plant/# (general broker user topics). */
const POLICY = [{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }, { operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#'] }] }];

const HUB_START_TIMEOUT_MS = 60_000;

export interface WsHub {
  readonly outpost: OutpostProcess;
  readonly httpsPort: number;
  readonly mqttPort: number;
  readonly ca: string;
  readonly dataDir: string;
  readonly registry: IdentityRegistry;
  readonly clients: { close(): Promise<unknown> }[];
  readonly remove: () => void;
}

/**
 * Adds the identities (`[deviceId]` or `[deviceId, moduleId]`; `more` for other kinds) and starts
 * the hub with these routes and `extraEnv` (configuration variables).
 */
export async function setUpHub(identities: string[][], routes: Record<string, string>, more: (registry: IdentityRegistry) => void = () => undefined, extraEnv: Record<string, string> = {}): Promise<WsHub> {
  const dir = tempDir('outpost-ws-');
  const dataDir = join(dir.path, 'data');
  const manifest = join(dir.path, 'deployment.json');
  writeFileSync(manifest, hubManifest(routes));
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
  for (const [deviceId, moduleId] of identities) registry.add(moduleId === undefined ? { deviceId: deviceId! } : { deviceId: deviceId!, moduleId });
  more(registry);
  const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', manifest], {
    env: childEnv({ ...env, OUTPOST_AUTH__POLICY: JSON.stringify(POLICY), ...extraEnv }),
  });
  let ready;
  try {
    ready = await outpost.waitFor((line) => line.event === 'hub.ready', HUB_START_TIMEOUT_MS);
  } catch (error) {
    await stopQuietly(outpost);
    dir.remove();
    throw error;
  }
  const ports = ready.ports as { mqtt: number; https: number };
  return { outpost, httpsPort: ports.https, mqttPort: ports.mqtt, ca: readFileSync(String(ready.caFile), 'utf8'), dataDir, registry, clients: [], remove: dir.remove };
}

export async function tearDownHub(hub: WsHub | undefined): Promise<void> {
  if (hub === undefined) return;
  await Promise.all(hub.clients.map((c) => c.close().catch(() => undefined)));
  await stopQuietly(hub.outpost);
  hub.remove();
}

/** An https.Agent that sends connections for port 443 to the hub's HTTPS port (TLS options kept). */
export function agentFor(httpsPort: number): Agent {
  return new (class extends Agent {
    override createConnection(options: any, callback: any): Duplex {
      // `any`: Agent.createConnection's options are not in @types/node's public surface.
      return (Agent.prototype as any).createConnection.call(this, { ...options, host: 'localhost', servername: 'localhost', port: httpsPort }, callback);
    }
  })({ keepAlive: false });
}

/** The identity's connection string, through the gateway `localhost` (port 443, as MqttWs forces). */
export function connectionString(hub: WsHub, deviceId: string, moduleId?: string): string {
  const record = hub.registry.get(deviceId, moduleId);
  if (record === undefined) throw new Error(`${deviceId}/${moduleId} is not in the registry`);
  return buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: 'localhost' });
}

/**
 * An SDK device client over MqttWs with an X.509 certificate. The Node SDK drops GatewayHostName
 * from an `x509=true` connection string, so the provider gets it directly.
 */
export function x509WsClient(hub: WsHub, deviceId: string, cert: string, key: string): any {
  const provider = new X509AuthenticationProvider({ host: HUB, deviceId, gatewayHostName: 'localhost', x509: { cert, key } });
  const client = Client.fromAuthenticationProvider(provider, MqttWs);
  hub.clients.push(client);
  return client;
}

/** mqtt.js over wss:// to the hub's WebSocket path as a SAS identity; no reconnecting. */
export async function connectMqttJs(hub: WsHub, deviceId: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const record = hub.registry.get(deviceId);
  if (record === undefined || record.authentication.type !== 'sas') throw new Error(`${deviceId} is not a SAS identity`);
  const login = sasLogin(HUB, record.authentication.primaryKey, deviceId);
  const client = mqtt.connect(`wss://localhost:${hub.httpsPort}/$iothub/websocket`, { ...login, ca: hub.ca, reconnectPeriod: 0, ...options });
  hub.clients.push({ close: () => client.endAsync(true) });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return client;
}

/** Routed messages an SDK module client receives on `input`, each completed; the array fills as they come. */
// `any`: the SDK is CommonJS without types for what these tests call.
export function collectInputs(client: any, input: string): any[] {
  const received: any[] = [];
  client.on('inputMessage', (name: string, message: any) => {
    if (name === input) received.push(message);
    client.complete(message, () => undefined);
  });
  return received;
}

/** Waits, yielding to the event loop, until `condition` holds; fails naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
