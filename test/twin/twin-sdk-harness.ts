/**
 * A real hub process (MQTT over TLS on an ephemeral port) with identities and a route of twin
 * change notifications to a module input, and the Azure IoT device SDK for Node, for the twin
 * end-to-end tests.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, runOutpostJson, startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };

export const EDGE = 'edge-1';
export const HUB = 'twinhub.azure-devices.net';
export const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-twin-');
export const dataDir = join(dir.path, 'data');
export const manifest = join(dir.path, 'deployment.json');
export const state: { outpost: OutpostProcess | undefined; port: number; ca: string } = { outpost: undefined, port: 0, ca: '' };
const clients: { close(): Promise<unknown> }[] = [];

export async function start(): Promise<void> {
  await startOn(0);
}

/** Starts the hub; a restart reuses the port it had, so the SDK's own reconnect finds it. */
export async function startOn(mqttPort: number): Promise<void> {
  const started = await startHub({ dataDir, args: ['--deployment', manifest, '--mqtt-port', String(mqttPort)], env });
  state.outpost = started.outpost;
  state.port = started.ports.mqtt!;
  state.ca = readFileSync(String(started.ready.caFile), 'utf8');
}

export async function twinCli(args: string[]): Promise<{ code: number | string; json: any; stderr: string }> {
  return runOutpostJson(['twin', ...args, '--data-dir', dataDir], { env });
}

export async function connectionString(args: string[]): Promise<string> {
  const result = await runOutpost(['identity', 'connection-string', ...args, '--data-dir', dataDir, '--gateway-hostname', 'localhost'], { env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim().replace(/GatewayHostName=[^;]+/, `GatewayHostName=localhost:${state.port}`);
}

export async function open(kind: 'device' | 'module', cs: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(cs, Mqtt);
  await client.setOptions({ ca: state.ca });
  await client.open();
  clients.push(client);
  return client;
}

/** Resolves with the first desired patch for which `accept` holds. */
export function desiredWhere(twin: any, accept: (patch: any) => boolean, timeoutMs = 15_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      twin.removeListener('properties.desired', listener);
      reject(new Error(`no matching desired patch within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (patch: any) => {
      if (!accept(patch)) return;
      clearTimeout(timer);
      twin.removeListener('properties.desired', listener);
      resolve(patch);
    };
    twin.on('properties.desired', listener);
  });
}

export function update(twin: any, patch: unknown): Promise<void> {
  return new Promise((resolve, reject) => twin.properties.reported.update(patch, (error: unknown) => (error ? reject(error) : resolve())));
}

/** Adds the identities, writes the manifest and starts the hub. */
export async function setUp(): Promise<void> {
  writeFileSync(manifest, hubManifest({ twinsToSink: 'FROM /twinChangeNotifications INTO BrokeredEndpoint("/modules/sink/inputs/twins")' }));
  for (const args of [['dev1'], [EDGE, '--module', 'filter']]) {
    const added = await runOutpost(['identity', 'add', ...args, '--data-dir', dataDir], { env });
    assert.equal(added.code, 0, added.stderr);
  }
  await start();
}

export async function tearDown(): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopQuietly(state.outpost);
  dir.remove();
}
