import { readFileSync } from 'node:fs';
import type { OutpostConfig } from '../../config/index.js';
import { OutpostError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { Broker } from '../broker/index.js';
import { reconnectTimingOf, signSasToken, UpstreamCredentials, type IdentityLookup } from '../upstream/index.js';
import { MqttBridge } from './mqtt-bridge.js';

/** Keep-alive of the bridge's connection to the parent, as Azure's bridge (notes 7: `keep_alive 1m`). */
const KEEP_ALIVE_SEC = 60;
/** The parent keeps the bridge's session (its subscriptions, what it owes us) across disconnections; it caps this at its mqtt.maxSessionExpiry. */
const PARENT_SESSION_EXPIRY_SEC = 7 * 24 * 3600;
const CONNECT_TIMEOUT_MS = 30_000;
/** The api-version IoT Hub's MQTT user name carries (what the Azure device SDKs send). */
const API_VERSION = '2021-04-12';

/**
 * The bridge from configuration: its local session's client id, and how to reach the parent's
 * broker (upstream.hostname, bridge.port, upstream.caFile) as this edge device (its SAS key:
 * upstream.connectionString, or its registry entry, as the upstream link signs). Without
 * upstream.hostname the bridge has no parent and does not run (a deployment with bridges is
 * logged). Rules come later, from the deployment (MqttBridge.apply).
 *
 * The local client id `<deviceId>/$bridge/$upstream` cannot be taken by a client on the wire: a
 * client id starting with this edge device's id is reserved (auth/session-owner.ts), and no
 * identity's own client id has two slashes.
 */
export function openBridge(config: OutpostConfig, broker: Broker, registry: IdentityLookup, logger: Logger): MqttBridge {
  const upstream = config.upstream;
  const host = upstream.hostname;
  let parent: ConstructorParameters<typeof MqttBridge>[0]['parent'];
  if (host !== null) {
    const credentials = new UpstreamCredentials({ edgeDeviceId: config.deviceId, connectionString: upstream.connectionString ?? undefined, registry });
    const audience = `${config.iotHubHostname}/devices/${config.deviceId}`;
    parent = {
      host,
      port: config.bridge.port,
      ca: readCa(upstream.caFile),
      clientId: config.deviceId,
      username: `${config.iotHubHostname}/${config.deviceId}/?api-version=${API_VERSION}`,
      password: () => {
        // Read at each attempt: a key rotated in the registry is used on the next connection.
        const key = credentials.credentialFor(config.deviceId, undefined)?.key;
        if (key === undefined) {
          const why = credentials.signerCredential()?.signerModuleId !== undefined ? 'upstream.connectionString is the $edgeHub module key, and the bridge connects as the device' : 'set upstream.connectionString';
          throw new OutpostError('OUTPOST_UPSTREAM_NO_CREDENTIALS', `no SAS key for this edge device ${config.deviceId}: ${why}`);
        }
        return signSasToken(audience, key, Math.floor((Date.now() + upstream.tokenTtl) / 1000));
      },
      keepAliveSec: KEEP_ALIVE_SEC,
      sessionExpirySec: PARENT_SESSION_EXPIRY_SEC,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ...reconnectTimingOf(upstream),
    };
  }
  return new MqttBridge({ broker, clientId: `${config.deviceId}/$bridge/$upstream`, parent, maxInflight: config.mqtt.maxInflight, logger });
}

function readCa(file: string | null): string | undefined {
  if (file === null) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new OutpostError('OUTPOST_UPSTREAM_CONFIG_INVALID', `upstream.caFile ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
