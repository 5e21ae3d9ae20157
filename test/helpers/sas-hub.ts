/**
 * A real hub with IoT Hub identities, for tests that connect as devices and modules with SAS
 * tokens: identities made with the `outpost identity` commands, the hub started and its MQTT/TLS
 * port and development CA read, tokens signed with the azure-iot-common helper the SDK uses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import { runOutpost, startHub, type OutpostProcess } from './outpost-process.js';

const require = createRequire(import.meta.url);
const { SharedAccessSignature, anHourFromNow } = require('azure-iot-common') as { SharedAccessSignature: { create(sr: string, name: undefined, key: string, expiry: number): { toString(): string } }; anHourFromNow: () => number };

/** Where the hub's identities live, and the environment naming its edge device and IoT hub. */
export interface SasHubSite {
  readonly dataDir: string;
  readonly hub: string;
  readonly env: Record<string, string>;
}

/** `outpost identity add <args…>` for each entry (a device id, or `EDGE --module m`). */
export async function addIdentities(site: SasHubSite, each: readonly (readonly string[])[]): Promise<void> {
  for (const args of each) {
    const result = await runOutpost(['identity', 'add', ...args, '--data-dir', site.dataDir], { env: site.env });
    assert.equal(result.code, 0, result.stderr);
  }
}

/** The primary key of a device (or of one of its modules), from `outpost identity show --show-keys`. */
export async function primaryKey(site: SasHubSite, deviceId: string, moduleId?: string): Promise<string> {
  const args = moduleId === undefined ? [deviceId] : [deviceId, '--module', moduleId];
  const result = await runOutpost(['identity', 'show', ...args, '--show-keys', '--data-dir', site.dataDir], { env: site.env });
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { authentication: { primaryKey: string } }).authentication.primaryKey;
}

/** The MQTT CONNECT fields of an IoT Hub identity: client id, user name and a SAS token valid for an hour. */
export function sasLogin(hub: string, key: string, deviceId: string, moduleId?: string): { clientId: string; username: string; password: string } {
  const clientId = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
  const resource = moduleId === undefined ? `${hub}/devices/${deviceId}` : `${hub}/devices/${deviceId}/modules/${moduleId}`;
  const password = SharedAccessSignature.create(encodeURIComponent(resource), undefined, key, anHourFromNow()).toString();
  return { clientId, username: `${hub}/${clientId}/?api-version=2021-04-12`, password };
}

/** A running hub's MQTT/TLS port and the CA its certificate chains to. */
export interface SasHub {
  readonly outpost: OutpostProcess;
  readonly port: number;
  readonly ca: string;
}

export async function startSasHub(site: SasHubSite, command: 'hub' | 'run', args: readonly string[]): Promise<SasHub> {
  const started = await startHub({ command, dataDir: site.dataDir, args: [...args], env: site.env });
  return { outpost: started.outpost, port: started.ports.mqtt!, ca: readFileSync(String(started.ready.caFile), 'utf8') };
}

/** An mqtt.js client connected as a device (or module) with a SAS token; no reconnecting. */
export async function connectSas(hub: SasHub, site: SasHubSite, deviceId: string, moduleId?: string): Promise<mqtt.MqttClient> {
  const login = sasLogin(site.hub, await primaryKey(site, deviceId, moduleId), deviceId, moduleId);
  const client = mqtt.connect(`mqtts://localhost:${hub.port}`, { ...login, ca: hub.ca, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}
