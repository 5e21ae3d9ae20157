/**
 * A real hub process (MQTT and HTTPS over TLS on ephemeral ports) with a device and modules of the
 * edge device, and the Azure IoT device SDK for Node, for the direct-method end-to-end tests.
 *
 * The SDK's ModuleClient.invokeMethod always calls port 443 of GatewayHostName (the host name is
 * used as given, a `:port` in it is not split off), and no option sets another port. It does
 * take an `http.agent` option (ModuleClient.setOptions), which the tests use to reach the hub's
 * actual HTTPS port: the request itself (path, headers, token, body) is exactly the SDK's.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { buildConnectionString, IdentityRegistry } from '../../src/hub/auth/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { childEnv, runOutpost, runOutpostJson, spawnOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client, ModuleClient } = require('azure-iot-device') as Record<string, any>;
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };

export const EDGE = 'edge-m';
export const HUB = 'methodhub.azure-devices.net';
export const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };

const HUB_START_TIMEOUT_MS = 60_000;

export interface MethodsHub {
  outpost: OutpostProcess | undefined;
  mqttPort: number;
  httpsPort: number;
  ca: string;
  dataDir: string;
  registry: IdentityRegistry;
  remove: () => void;
  clients: { close(): Promise<unknown> }[];
}

/**
 * Adds the identities (`[deviceId]` or `[deviceId, moduleId]`, in-process: a CLI process per
 * identity costs seconds on a loaded machine) and starts the hub.
 */
export async function setUpHub(identities: string[][], more: (registry: IdentityRegistry) => void = () => undefined): Promise<MethodsHub> {
  const dir = tempDir('outpost-methods-');
  const dataDir = join(dir.path, 'data');
  const manifest = join(dir.path, 'deployment.json');
  writeFileSync(manifest, hubManifest({}));
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
  for (const [deviceId, moduleId] of identities) registry.add(moduleId === undefined ? { deviceId: deviceId! } : { deviceId: deviceId!, moduleId });
  more(registry);
  const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', manifest], { env: childEnv(env) });
  let ready;
  try {
    // As startHub, with a longer bound: on a machine shared by many test runs a start can take 20 s.
    ready = await outpost.waitFor((line) => line.event === 'hub.ready', HUB_START_TIMEOUT_MS);
  } catch (error) {
    await stopQuietly(outpost);
    dir.remove();
    throw error;
  }
  const ports = ready.ports as { mqtt: number; https: number };
  return {
    outpost,
    mqttPort: ports.mqtt,
    httpsPort: ports.https,
    ca: readFileSync(String(ready.caFile), 'utf8'),
    dataDir,
    registry,
    remove: dir.remove,
    clients: [],
  };
}

export async function tearDownHub(hub: MethodsHub | undefined): Promise<void> {
  if (hub === undefined) return;
  await Promise.all(hub.clients.map((c) => c.close().catch(() => undefined)));
  await stopQuietly(hub.outpost);
  hub.remove();
}

export function connectionString(hub: MethodsHub, deviceId: string, moduleId?: string): string {
  const record = hub.registry.get(deviceId, moduleId);
  assert.ok(record !== undefined, `${deviceId}/${moduleId} is not in the registry`);
  return buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: `localhost:${hub.mqttPort}` });
}

/** An https.Agent that sends the SDK's requests for port 443 to the hub's HTTPS port. */
export function agentFor(httpsPort: number): Agent {
  return new (class extends Agent {
    override createConnection(options: any, callback: any): Duplex {
      // `any`: Agent.createConnection's options are not in @types/node's public surface.
      return (Agent.prototype as any).createConnection.call(this, { ...options, host: 'localhost', servername: 'localhost', port: httpsPort }, callback);
    }
  })({ keepAlive: false });
}

export async function open(hub: MethodsHub, kind: 'device' | 'module', cs: string): Promise<any> {
  const client = (kind === 'device' ? Client : ModuleClient).fromConnectionString(cs, Mqtt);
  await client.setOptions({ ca: hub.ca, http: { agent: agentFor(hub.httpsPort) } });
  await client.open();
  hub.clients.push(client);
  return client;
}

/**
 * Registers a method handler and resolves once the hub has the client's methods subscription:
 * onMethod/onDeviceMethod subscribe in the background with no callback, so this asks the SDK's
 * (internal) enableMethods, which answers after a SUBACK that follows the first SUBSCRIBE's.
 */
export async function answering(client: any, kind: 'device' | 'module', methodName: string, handler: (request: any, response: any) => void): Promise<void> {
  if (kind === 'device') client.onDeviceMethod(methodName, handler);
  else client.onMethod(methodName, handler);
  await new Promise<void>((resolve, reject) => client._enableMethods((error: unknown) => (error ? reject(error) : resolve())));
}

/** Resolves with the SDK's result, or the HTTP status and body of its error. */
export async function invoke(client: any, target: { deviceId: string; moduleId?: string }, params: Record<string, unknown>): Promise<{ status: number; body: any }> {
  try {
    const result = target.moduleId === undefined ? await client.invokeMethod(target.deviceId, params) : await client.invokeMethod(target.deviceId, target.moduleId, params);
    return { status: 200, body: result };
  } catch (error: any) {
    if (error?.response?.statusCode === undefined) throw error;
    return { status: error.response.statusCode, body: JSON.parse(error.responseBody) };
  }
}

/** A raw HTTPS POST to the hub's methods API (real TLS), for what the SDK cannot send. */
export function post(hub: MethodsHub, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port: hub.httpsPort, ca: hub.ca, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function methodCli(hub: MethodsHub, args: string[]): Promise<{ code: number | string; json: any; stderr: string }> {
  // A CLI process can take 20 s to start and finish on a machine shared by many test runs.
  return runOutpostJson(['method', 'invoke', ...args, '--data-dir', hub.dataDir], { env, timeoutMs: 60_000 });
}
