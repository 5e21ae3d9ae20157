/**
 * A real hub process (MQTT over TLS on an ephemeral port, durable store) with device identities,
 * the Azure IoT device SDK for Node and mqtt.js, and `outpost c2d` / the hub control socket, for
 * the C2D end-to-end tests.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, runOutpostJson, startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { sasLogin } from '../helpers/sas-hub.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client } = require('azure-iot-device') as Record<string, any>;
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };

export const EDGE = 'edge-1';
export const HUB = 'c2dhub.azure-devices.net';
export const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };

export interface C2dSite {
  readonly dataDir: string;
  outpost: OutpostProcess | undefined;
  port: number;
  ca: string;
  readonly clients: { close?(): Promise<unknown>; end?(force: boolean): unknown }[];
  readonly remove: () => void;
}

export async function setUp(devices: readonly string[]): Promise<C2dSite> {
  const dir = tempDir('outpost-c2d-');
  const site: C2dSite = { dataDir: join(dir.path, 'data'), outpost: undefined, port: 0, ca: '', clients: [], remove: dir.remove };
  writeFileSync(join(dir.path, 'deployment.json'), hubManifest({}));
  // In-process (the registry file the hub reads): a CLI process per identity costs seconds under load.
  const registry = IdentityRegistry.open({ dataDir: site.dataDir, edgeDeviceId: EDGE });
  for (const deviceId of devices) registry.add({ deviceId });
  await startOn(site, 0);
  return site;
}

/** Starts the hub; a restart reuses the port it had. */
export async function startOn(site: C2dSite, mqttPort: number): Promise<void> {
  const started = await startHub({ dataDir: site.dataDir, args: ['--deployment', join(site.dataDir, '..', 'deployment.json'), '--mqtt-port', String(mqttPort)], env });
  site.outpost = started.outpost;
  site.port = started.ports.mqtt!;
  site.ca = readFileSync(String(started.ready.caFile), 'utf8');
  // The control socket opens just after hub.ready.
  await started.outpost.waitFor((line) => line.event === 'hub.control_listening');
}

export async function tearDown(site: C2dSite | undefined): Promise<void> {
  if (site === undefined) return;
  await Promise.all(site.clients.map(async (c) => (c.close !== undefined ? c.close().catch(() => undefined) : c.end?.(true))));
  await stopQuietly(site.outpost);
  site.remove();
}

/** `outpost c2d …` with its exit code, parsed JSON output and standard error. */
export async function c2dCli(site: C2dSite, args: string[]): Promise<{ code: number | string; json: any; stderr: string }> {
  return runOutpostJson(['c2d', ...args, '--data-dir', site.dataDir], { env });
}

/** The control API directly (what `outpost c2d` calls), without a CLI process per call. */
export async function api(site: C2dSite, method: 'GET' | 'POST', deviceId: string, request?: unknown): Promise<{ status: number; body: any }> {
  return new HubControlClient(join(site.dataDir, HUB_CONTROL_SOCKET)).call(method, `/v1/devices/${encodeURIComponent(deviceId)}/messages/devicebound`, request === undefined ? undefined : JSON.stringify(request));
}

function primaryKey(site: C2dSite, deviceId: string): string {
  const record = IdentityRegistry.open({ dataDir: site.dataDir, edgeDeviceId: EDGE }).get(deviceId);
  assert.ok(record !== undefined && record.authentication.type === 'sas', `${deviceId} has SAS keys`);
  return record.authentication.primaryKey;
}

/** What `outpost identity connection-string <d> --gateway-hostname localhost:<port>` prints. */
export function connectionString(site: C2dSite, deviceId: string): string {
  return `HostName=${HUB};DeviceId=${deviceId};SharedAccessKey=${primaryKey(site, deviceId)};GatewayHostName=localhost:${site.port}`;
}

/** An SDK device client over MQTT; received messages go to `received` (and are not completed). */
export async function openDevice(site: C2dSite, deviceId: string, received: any[]): Promise<any> {
  const client = Client.fromConnectionString(connectionString(site, deviceId), Mqtt);
  await client.setOptions({ ca: site.ca });
  // The listener before open(): the SDK subscribes to devicebound on open when one exists.
  client.on('message', (message: any) => received.push(message));
  await client.open();
  site.clients.push(client);
  return client;
}

/** MQTT CONNECT fields of a device with a SAS token. */
export function rawLogin(site: C2dSite, deviceId: string): { clientId: string; username: string; password: string } {
  return sasLogin(HUB, primaryKey(site, deviceId), deviceId);
}

/**
 * mqtt.js as the device, subscribed to its devicebound topic; `onMessage` is listening before the
 * SUBSCRIBE (what was queued may arrive at once).
 */
export async function connectRaw(site: C2dSite, deviceId: string, onMessage: mqtt.OnMessageCallback, options: Partial<mqtt.IClientOptions> = {}): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtts://localhost:${site.port}`, { ...rawLogin(site, deviceId), ca: site.ca, reconnectPeriod: 0, ...options });
  site.clients.push(client);
  client.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(`devices/${deviceId}/messages/devicebound/#`, { qos: 1 });
  return client;
}

/** Resolves once `items` has at least `count` entries (checked on every SDK/mqtt event turn). */
export function until<T>(items: T[], count: number, timeoutMs = 20_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (items.length >= count) return resolve(items);
      if (Date.now() - started > timeoutMs) return reject(new Error(`only ${items.length} of ${count} messages within ${timeoutMs} ms`));
      setTimeout(check, 20);
    };
    check();
  });
}

export function complete(client: any, message: any): Promise<void> {
  return new Promise((resolve, reject) => client.complete(message, (error: unknown) => (error ? reject(error) : resolve())));
}

/** Application properties of an SDK message as an object. */
export function propertiesOf(message: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < message.properties.count(); i++) {
    const { key, value } = message.properties.getItem(i);
    out[key] = value;
  }
  return out;
}
