// IoT Hub identities for the scenarios that authenticate (mqtt-auth-storm, mqtt-routed*): ids and
// SAS keys derived from the seed, so the registry written into a hub's data directory before it
// starts and the tokens signed at run time agree without passing state between the two; one
// registry write for all of them (IdentityRegistry.upsertMany); tokens signed as IoT Hub defines
// them and checked with the hub's own parser and verifier (src/hub/auth) before any load.
import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { IdentityRegistry, SasVerifier, type IdentityRecord } from '../../src/hub/auth/index.js';

/** The IoT hub the benchmark hubs belong to (`--set iotHubHostname=…`): the tokens' audience. */
export const BENCH_IOT_HUB = 'benchhub.azure-devices.net';
/** The benchmark hub's own device id (`--set deviceId=…`): parent of the devices, owner of the modules. */
export const BENCH_EDGE_DEVICE = 'bench-edge';
/** `outpost hub` arguments that make a hub the one these identities and tokens are for. */
export const BENCH_HUB_ARGS: readonly string[] = ['--set', `deviceId=${BENCH_EDGE_DEVICE}`, '--set', `iotHubHostname=${BENCH_IOT_HUB}`];
/**
 * Expiry of every token (2100-01-01): fixed, so two signings of one identity give the same text
 * and a reconnect presents the token the hub has cached, as a device SDK does within a token's life.
 */
export const BENCH_TOKEN_EXPIRY_SEC = Date.UTC(2100, 0, 1) / 1000;
/** What the Azure IoT SDKs put after the identity in the MQTT user name. */
const API_VERSION = '2021-04-12';

export interface SasIdentity {
  readonly deviceId: string;
  readonly moduleId?: string;
  /** Primary key, base64 of 32 bytes. */
  readonly key: string;
}

/** An MQTT client's CONNECT fields for an identity: client id, user name, password (the token). */
export interface Login {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
}

/** A SAS key derived from the seed and the identity: reproducible, and distinct per identity. */
export function derivedKey(seed: number, clientId: string): string {
  return createHmac('sha256', `outpost-bench-key-${seed}`).update(clientId).digest('base64');
}

/** `count` devices `bench-sas-<seed>-<i>`, children of the benchmark edge device. */
export function benchDevices(seed: number, count: number): SasIdentity[] {
  return Array.from({ length: count }, (_, i) => {
    const deviceId = `bench-sas-${seed}-${i}`;
    return { deviceId, key: derivedKey(seed, deviceId) };
  });
}

/** Modules of the benchmark edge device. */
export function benchModules(seed: number, moduleIds: readonly string[]): SasIdentity[] {
  return moduleIds.map((moduleId) => ({ deviceId: BENCH_EDGE_DEVICE, moduleId, key: derivedKey(seed, `${BENCH_EDGE_DEVICE}/${moduleId}`) }));
}

export function clientIdOf(identity: SasIdentity): string {
  return identity.moduleId === undefined ? identity.deviceId : `${identity.deviceId}/${identity.moduleId}`;
}

/** `SharedAccessSignature sr=…&sig=…&se=…`: HMAC-SHA256 of `sr + "\n" + se` with the decoded key (notes 5.2). */
export function signSasToken(hostname: string, identity: SasIdentity, expirySec = BENCH_TOKEN_EXPIRY_SEC): string {
  // Encoded once, as the Node SDK does: the hub accepts this spelling and the C# one.
  const sr = encodeURIComponent(`${hostname}/devices/${identity.deviceId}${identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`}`);
  const se = String(expirySec);
  const sig = createHmac('sha256', Buffer.from(identity.key, 'base64')).update(`${sr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}`;
}

export function loginOf(identity: SasIdentity, hostname = BENCH_IOT_HUB): Login {
  const clientId = clientIdOf(identity);
  return { clientId, username: `${hostname}/${clientId}/?api-version=${API_VERSION}`, password: signSasToken(hostname, identity) };
}

/**
 * Writes the identities into `<dataDir>/identities` (one file write for all), as `outpost
 * identity add` would one by one; then proves that each one's token verifies with the hub's own
 * SasVerifier against what was written, so a storm never measures refusals.
 */
export function registerIdentities(dataDir: string, identities: readonly SasIdentity[], hostname = BENCH_IOT_HUB): void {
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: BENCH_EDGE_DEVICE });
  const records: IdentityRecord[] = identities.map((identity) => ({
    deviceId: identity.deviceId,
    ...(identity.moduleId === undefined ? { parentDeviceId: BENCH_EDGE_DEVICE } : { moduleId: identity.moduleId }),
    status: 'enabled',
    authentication: { type: 'sas', primaryKey: identity.key, secondaryKey: createHmac('sha256', identity.key).update('secondary').digest('base64') },
    generationId: randomUUID(),
    source: 'local',
  }));
  const result = registry.upsertMany(records, { source: 'local' });
  const [rejected] = result.rejected;
  if (rejected !== undefined) throw new Error(`identity ${rejected.key} rejected: ${rejected.problems.join('; ')}`);
  const verifier = new SasVerifier({ registry: IdentityRegistry.open({ dataDir, edgeDeviceId: BENCH_EDGE_DEVICE }), hostnames: [hostname], clockSkewMs: 0, cacheSize: 0, now: Date.now });
  for (const identity of identities) {
    const verdict = verifier.verify(loginOf(identity, hostname).password, identity.deviceId, identity.moduleId);
    if (!verdict.ok) throw new Error(`the token of ${clientIdOf(identity)} does not verify: ${verdict.detail}`);
  }
}

/** `clientId<TAB>username<TAB>password` lines (StormConfig.credentialsFile). */
export function writeCredentialsFile(path: string, logins: readonly Login[]): void {
  writeFileSync(path, logins.map((l) => `${l.clientId}\t${l.username}\t${l.password}\n`).join(''), { mode: 0o600 });
}
