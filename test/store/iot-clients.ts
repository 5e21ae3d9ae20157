/**
 * mqtt.js clients authenticated as IoT Hub identities of a running hub (SAS tokens signed with
 * keys from `outpost identity connection-string`), for the end-to-end store tests.
 */
import { createRequire } from 'node:module';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { runOutpost } from '../helpers/outpost-process.js';

const require = createRequire(import.meta.url);
// `any`: azure-iot-common is CommonJS without types for what is called here.
const { SharedAccessSignature, anHourFromNow } = require('azure-iot-common') as { SharedAccessSignature: any; anHourFromNow: () => number };

export interface IotIdentity {
  readonly deviceId: string;
  readonly moduleId?: string;
  readonly key: string;
}

export async function addIdentity(dataDir: string, env: Record<string, string>, deviceId: string, moduleId?: string): Promise<IotIdentity> {
  const moduleArgs = moduleId === undefined ? [] : ['--module', moduleId];
  const added = await runOutpost(['identity', 'add', deviceId, ...moduleArgs, '--data-dir', dataDir], { env });
  if (added.code !== 0) throw new Error(`identity add failed: ${added.stderr}`);
  const cs = await runOutpost(['identity', 'connection-string', deviceId, ...moduleArgs, '--data-dir', dataDir, '--gateway-hostname', 'localhost'], { env });
  if (cs.code !== 0) throw new Error(`connection-string failed: ${cs.stderr}`);
  const key = /SharedAccessKey=([^;\s]+)/.exec(cs.stdout)?.[1];
  if (key === undefined) throw new Error('no key in the connection string');
  return moduleId === undefined ? { deviceId, key } : { deviceId, moduleId, key };
}

/** Connects over MQTT/TLS as the identity (MQTT 3.1.1, as the Azure SDK does). */
export function connectIdentity(hub: string, port: number, ca: string, identity: IotIdentity, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  const path = identity.moduleId === undefined ? `${identity.deviceId}` : `${identity.deviceId}/${identity.moduleId}`;
  const resource = identity.moduleId === undefined ? `${hub}/devices/${identity.deviceId}` : `${hub}/devices/${identity.deviceId}/modules/${identity.moduleId}`;
  const token = SharedAccessSignature.create(encodeURIComponent(resource), undefined, identity.key, anHourFromNow()).toString();
  const client = mqtt.connect(`mqtts://localhost:${port}`, {
    clientId: path,
    username: `${hub}/${path}/?api-version=2021-04-12`,
    password: token,
    ca,
    protocolVersion: 4,
    reconnectPeriod: 0,
    clean: true,
    ...extra,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}
