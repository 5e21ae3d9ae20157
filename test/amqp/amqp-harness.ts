/**
 * A real hub process (AMQP over TLS on an ephemeral port, with MQTT and HTTPS beside it) with
 * identities in its registry and routes from a deployment manifest, and clients that speak AMQP to
 * it: the Azure IoT device SDK's `Amqp` transport and rhea directly (for what the SDK does not send).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import rhea, { type Connection, type ConnectionOptions, type EventContext } from 'rhea';
import { buildConnectionString, IdentityRegistry } from '../../src/hub/auth/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { childEnv, spawnOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as { Amqp: unknown };
const { SharedAccessSignature } = require('azure-iot-common') as { SharedAccessSignature: { create(sr: string, name: undefined, key: string, expiry: number): { toString(): string } } };

export const EDGE = 'edge-a';
export const HUB = 'amqphub.azure-devices.net';
const HUB_START_TIMEOUT_MS = 60_000;

export interface AmqpSite {
  readonly outpost: OutpostProcess;
  readonly amqpPort: number;
  readonly ca: string;
  readonly dataDir: string;
  readonly registry: IdentityRegistry;
  readonly env: Record<string, string>;
  readonly clients: { close(): Promise<unknown> }[];
  readonly connections: Connection[];
  readonly remove: () => void;
}

/** Adds the identities (`[device]` or `[device, module]`; `more` for other kinds), writes the routes and starts `outpost hub`. */
export async function setUp(identities: string[][], routes: Record<string, string>, env: Record<string, string> = {}, more: (registry: IdentityRegistry) => void = () => undefined): Promise<AmqpSite> {
  const dir = tempDir('outpost-amqp-');
  const dataDir = join(dir.path, 'data');
  const manifest = join(dir.path, 'deployment.json');
  writeFileSync(manifest, hubManifest(routes));
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
  for (const [deviceId, moduleId] of identities) registry.add(moduleId === undefined ? { deviceId: deviceId! } : { deviceId: deviceId!, moduleId });
  more(registry);
  const fullEnv = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB, ...env };
  const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', manifest], { env: childEnv(fullEnv) });
  try {
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', HUB_START_TIMEOUT_MS);
    await outpost.waitFor((line) => line.event === 'hub.control_listening', HUB_START_TIMEOUT_MS);
    const ports = ready.ports as { amqp: number };
    return { outpost, amqpPort: ports.amqp, ca: readFileSync(String(ready.caFile), 'utf8'), dataDir, registry, env: fullEnv, clients: [], connections: [], remove: dir.remove };
  } catch (error) {
    await stopQuietly(outpost);
    dir.remove();
    throw error;
  }
}

export async function tearDown(site: AmqpSite | undefined): Promise<void> {
  if (site === undefined) return;
  await Promise.all(site.clients.map((c) => c.close().catch(() => undefined)));
  for (const connection of site.connections) connection.close();
  await stopQuietly(site.outpost);
  site.remove();
}

/** The SDK's connection string, through this gateway's AMQP port (the SDK's Amqp takes `host:port`). */
export function connectionString(site: AmqpSite, deviceId: string, moduleId?: string): string {
  const record = site.registry.get(deviceId, moduleId);
  assert.ok(record !== undefined, `${deviceId}/${moduleId} is not in the registry`);
  return buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: `localhost:${site.amqpPort}` });
}

/** An SDK device or module client over AMQP (TLS, the hub's CA), opened. */
export async function open(site: AmqpSite, kind: 'device' | 'module', deviceId: string, moduleId?: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(connectionString(site, deviceId, moduleId), Amqp);
  await client.setOptions({ ca: site.ca });
  await client.open();
  site.clients.push(client);
  return client;
}

export function primaryKey(site: AmqpSite, deviceId: string, moduleId?: string): string {
  const record = site.registry.get(deviceId, moduleId);
  assert.ok(record !== undefined && record.authentication.type === 'sas', `${deviceId} has SAS keys`);
  return record.authentication.primaryKey;
}

/** A SAS token as the SDK signs it, valid until `expirySec` (seconds since the epoch). */
export function sasToken(site: AmqpSite, deviceId: string, moduleId: string | undefined, expirySec: number, key = primaryKey(site, deviceId, moduleId)): string {
  return SharedAccessSignature.create(encodeURIComponent(audience(deviceId, moduleId)), undefined, key, expirySec).toString();
}

export function audience(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? `${HUB}/devices/${deviceId}` : `${HUB}/devices/${deviceId}/modules/${moduleId}`;
}

/** The control API (what `outpost twin` / `outpost c2d` call), without a CLI process per call. */
export function control(site: AmqpSite): HubControlClient {
  return new HubControlClient(join(site.dataDir, HUB_CONTROL_SOCKET));
}

/** A rhea client connection over TLS to the hub, opened (no SASL layer unless options ask for one). */
export async function rheaConnect(site: AmqpSite, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const container = rhea.create_container();
  const connection = container.connect({ host: 'localhost', port: site.amqpPort, transport: 'tls', ca: site.ca, servername: 'localhost', reconnect: false, ...options } as ConnectionOptions);
  site.connections.push(connection);
  connection.on('error', () => undefined);
  connection.on('disconnected', () => undefined);
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_open', () => resolve());
    connection.once('connection_error', (context: EventContext) => reject(context.connection.error ?? new Error('connection refused')));
    connection.once('disconnected', (context: EventContext) => reject(context.error ?? new Error('disconnected before open')));
  });
  return connection;
}

/** Resolves with the event's context once `emitter` emits `event`, or fails after `timeoutMs`. */
export function nextEvent(emitter: { once(event: string, fn: (...args: any[]) => void): unknown }, event: string, timeoutMs = 20_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (value: unknown) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Resolves once `items` holds `count` entries (checked as they arrive, with a deadline). */
export async function until<T>(items: T[], count: number, timeoutMs = 30_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  while (items.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${items.length} of ${count} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return items;
}
