/**
 * The real Azure IoT device SDK for Node (azure-iot-device + azure-iot-device-mqtt, pinned in
 * package.json) against the identity registry: its own SAS signer, its MQTT CONNECT over TLS
 * with SAS and with X.509 client certificates, and ModuleClient.fromEnvironment using our
 * workload API (and the connection-string alternative). Nothing of the SDK is re-implemented.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildConnectionString,
  connectionStringEnvironment,
  IdentityAuthenticator,
  IdentityRegistry,
  moduleEnvironment,
  WorkloadServer,
  type IdentityRecord,
} from '../../src/hub/auth/index.js';
import { EDGE, HUB, makeCertificate, tempDir } from './auth-test-helpers.js';
import { startAuthEndpoint, type AuthEndpoint } from './mqtt-auth-endpoint.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for these internals; the tests only call them.
const { Client, ModuleClient, SharedAccessKeyAuthenticationProvider, X509AuthenticationProvider, IotEdgeAuthenticationProvider } = require('azure-iot-device') as Record<string, any>;
const { Mqtt } = require('azure-iot-device-mqtt') as { Mqtt: unknown };
const { SharedAccessSignature, anHourFromNow } = require('azure-iot-common') as { SharedAccessSignature: any; anHourFromNow: () => number };
const { encodeUriComponentStrict } = require('azure-iot-common/dist/authorization') as { encodeUriComponentStrict: (s: string) => string };

const dirs: { after: (fn: () => void) => void } = { after: (fn) => after(fn) };
const dataDir = tempDir(dirs);
const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: EDGE });
const authenticator = new IdentityAuthenticator({ registry, iotHubHostname: HUB, gatewayHostname: 'localhost' });
let endpoint: AuthEndpoint;

before(async () => {
  endpoint = await startAuthEndpoint(authenticator);
});
after(() => endpoint.close());

const keyOf = (record: IdentityRecord) => (record.authentication.type === 'sas' ? record.authentication.primaryKey : assert.fail('not a SAS identity'));
const gateway = () => `localhost:${endpoint.port}`;
const connectionString = (record: IdentityRecord) => buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: gateway() });

/** The token the SDK's MQTT transport sends for this connection string (its own signer). */
async function sdkToken(cs: string): Promise<string> {
  const provider = SharedAccessKeyAuthenticationProvider.fromConnectionString(cs);
  const credentials = await provider.getDeviceCredentials();
  provider.stop();
  return credentials.sharedAccessSignature as string;
}

/**
 * An X.509 device client through the gateway. The Node SDK drops GatewayHostName from an
 * `x509=true` connection string (Client.fromConnectionString builds its X509AuthenticationProvider
 * from HostName and DeviceId only), so a device behind a gateway passes it to the provider.
 */
function x509Client(deviceId: string, port: number, cert: string, key: string): any {
  const provider = new X509AuthenticationProvider({ host: HUB, deviceId, gatewayHostName: `localhost:${port}`, x509: { cert, key } });
  return Client.fromAuthenticationProvider(provider, Mqtt);
}

/** Opens a real SDK client through the TLS endpoint and closes it; resolves with the outcome. */
async function openAndClose(client: any): Promise<'connected' | Error> {
  try {
    await client.open();
  } catch (error) {
    return error as Error;
  } finally {
    await client.close().catch(() => undefined);
  }
  return 'connected';
}

describe('Azure SDK tokens', () => {
  it('accepts the tokens the SDK signs for a device and a module (SharedAccessKeyAuthenticationProvider)', async () => {
    const device = registry.add({ deviceId: 'sdk-dev' });
    const module = registry.add({ deviceId: 'sdk-dev', moduleId: 'sdk-mod' });
    const deviceResult = authenticator.verifySasToken(await sdkToken(connectionString(device)), 'sdk-dev');
    assert.ok(deviceResult.ok, JSON.stringify(deviceResult));
    const moduleResult = authenticator.verifySasToken(await sdkToken(connectionString(module)), 'sdk-dev', 'sdk-mod');
    assert.ok(moduleResult.ok, JSON.stringify(moduleResult));
  });

  it('accepts SharedAccessSignature.create from azure-iot-common, also for ids the SDK escapes', () => {
    const record = registry.add({ deviceId: "dev'(1)*!" });
    const resource = encodeUriComponentStrict(`${HUB}/devices/${record.deviceId}`);
    const token = SharedAccessSignature.create(resource, null, keyOf(record), anHourFromNow()).toString() as string;
    assert.ok(authenticator.verifySasToken(token, record.deviceId).ok);
    const wrong = SharedAccessSignature.create(resource, null, keyOf(registry.add({ deviceId: 'someone-else' })), anHourFromNow()).toString() as string;
    assert.ok(!authenticator.verifySasToken(wrong, record.deviceId).ok);
  });
});

describe('Azure SDK clients over MQTT/TLS', () => {
  it('a device connects with its connection string (SAS)', async () => {
    const record = registry.add({ deviceId: 'mqtt-dev' });
    const client = Client.fromConnectionString(connectionString(record), Mqtt);
    await client.setOptions({ ca: endpoint.caPem });
    assert.equal(await openAndClose(client), 'connected');
    assert.deepEqual(endpoint.results.at(-1), { ok: true, identity: { kind: 'device', deviceId: 'mqtt-dev', authMethod: 'sas' } });
  });

  it('a device with a rotated key is refused', async () => {
    const record = registry.add({ deviceId: 'rotated-dev' });
    const cs = connectionString(record);
    registry.rotateKeys('rotated-dev', undefined, 'both');
    const client = Client.fromConnectionString(cs, Mqtt);
    await client.setOptions({ ca: endpoint.caPem });
    const outcome = await openAndClose(client);
    assert.ok(outcome instanceof Error, 'open() must fail');
    const last = endpoint.results.at(-1)!;
    assert.ok(!last.ok && last.code === 'OUTPOST_AUTH_BAD_CREDENTIALS');
  });

  it('a module connects with its connection string (SAS)', async () => {
    registry.add({ deviceId: 'mqtt-dev2' });
    const record = registry.add({ deviceId: 'mqtt-dev2', moduleId: 'm1' });
    const client = ModuleClient.fromConnectionString(connectionString(record), Mqtt);
    await client.setOptions({ ca: endpoint.caPem });
    assert.equal(await openAndClose(client), 'connected');
    assert.deepEqual(endpoint.results.at(-1), { ok: true, identity: { kind: 'module', deviceId: 'mqtt-dev2', moduleId: 'm1', authMethod: 'sas' } });
  });

  it('a device connects with a self-signed certificate registered by thumbprint (x509=true)', async () => {
    const certificate = makeCertificate({ commonName: 'thumb-dev', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
    const thumbprint = createHash('sha256').update(certificate.x509.raw).digest('hex').toUpperCase();
    registry.add({ deviceId: 'thumb-dev', authentication: { type: 'selfSigned', primaryThumbprint: thumbprint } });
    const client = x509Client('thumb-dev', endpoint.port, certificate.pem, certificate.keyPem);
    await client.setOptions({ ca: endpoint.caPem });
    assert.equal(await openAndClose(client), 'connected');
    assert.deepEqual(endpoint.results.at(-1), { ok: true, identity: { kind: 'device', deviceId: 'thumb-dev', authMethod: 'x509-thumbprint' } });
  });

  it('a CA-signed device connects with its chain; a certificate from an untrusted CA is refused', async () => {
    const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) };
    const root = makeCertificate({ commonName: 'Fleet Root', isCa: true, ...validity });
    const intermediate = makeCertificate({ commonName: 'Fleet Intermediate', isCa: true, issuer: root, ...validity });
    const leaf = makeCertificate({ commonName: 'ca-dev', issuer: intermediate, extKeyUsage: ['clientAuth'], ...validity });
    const withCa = new IdentityAuthenticator({ registry, iotHubHostname: HUB, gatewayHostname: 'localhost', clientCas: [root.x509] });
    const caEndpoint = await startAuthEndpoint(withCa);
    try {
      registry.add({ deviceId: 'ca-dev', authentication: { type: 'certificateAuthority' } });
      const good = x509Client('ca-dev', caEndpoint.port, leaf.pem + intermediate.pem, leaf.keyPem);
      await good.setOptions({ ca: caEndpoint.caPem });
      assert.equal(await openAndClose(good), 'connected');
      assert.deepEqual(caEndpoint.results.at(-1), { ok: true, identity: { kind: 'device', deviceId: 'ca-dev', authMethod: 'x509-ca' } });

      const rogueRoot = makeCertificate({ commonName: 'Fleet Root', isCa: true, ...validity });
      const rogue = makeCertificate({ commonName: 'ca-dev', issuer: rogueRoot, ...validity });
      const bad = x509Client('ca-dev', caEndpoint.port, rogue.pem + rogueRoot.pem, rogue.keyPem);
      await bad.setOptions({ ca: caEndpoint.caPem });
      assert.ok((await openAndClose(bad)) instanceof Error);
      const last = caEndpoint.results.at(-1)!;
      assert.ok(!last.ok && /trusted CA/.test(last.detail));
    } finally {
      await caEndpoint.close();
    }
  });
});

describe('ModuleClient.fromEnvironment', () => {
  const saved = { ...process.env };
  const restoreEnv = () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
  after(restoreEnv);

  it('gets the trust bundle and signatures from our workload API over a unix socket, then connects', async () => {
    const record = registry.ensureModule('env-mod');
    const workload = await WorkloadServer.start({ socketPath: join(dataDir, 'workload.sock'), registry, trustBundle: () => endpoint.caPem });
    try {
      Object.assign(process.env, moduleEnvironment({ record, workloadUri: workload.uri, iotHubHostname: HUB, gatewayHostname: gateway() }));
      const client = await ModuleClient.fromEnvironment(Mqtt);
      assert.equal(await openAndClose(client), 'connected');
      assert.deepEqual(endpoint.results.at(-1), { ok: true, identity: { kind: 'module', deviceId: EDGE, moduleId: 'env-mod', authMethod: 'sas' } });
    } finally {
      restoreEnv();
      await workload.stop();
    }
  });

  it('works the same through the SDK’s workload client alone (sign, then verify)', async () => {
    const record = registry.ensureModule('env-mod2');
    const workload = await WorkloadServer.start({ socketPath: join(dataDir, 'workload2.sock'), registry, trustBundle: 'unused' });
    try {
      const provider = new IotEdgeAuthenticationProvider({
        workloadUri: workload.uri,
        deviceId: EDGE,
        moduleId: 'env-mod2',
        iothubHostName: HUB,
        authScheme: 'sasToken',
        gatewayHostName: 'localhost',
        generationId: record.generationId,
      });
      const credentials = await provider.getDeviceCredentials();
      provider.stop();
      assert.ok(authenticator.verifySasToken(credentials.sharedAccessSignature, EDGE, 'env-mod2').ok);
      const bundle = await new Promise<string>((resolve, reject) => provider.getTrustBundle((error: Error | null, ca: string) => (error ? reject(error) : resolve(ca))));
      assert.equal(bundle, 'unused');
    } finally {
      await workload.stop();
    }
  });

  it('or uses EdgeHubConnectionString with EdgeModuleCACertificateFile', async () => {
    const record = registry.ensureModule('cs-mod');
    const caFile = join(dataDir, 'ca.pem');
    writeFileSync(caFile, endpoint.caPem);
    try {
      Object.assign(process.env, connectionStringEnvironment({ record, iotHubHostname: HUB, gatewayHostname: gateway(), caFile }));
      const client = await ModuleClient.fromEnvironment(Mqtt);
      assert.equal(await openAndClose(client), 'connected');
      assert.deepEqual(endpoint.results.at(-1), { ok: true, identity: { kind: 'module', deviceId: EDGE, moduleId: 'cs-mod', authMethod: 'sas' } });
    } finally {
      restoreEnv();
    }
  });
});
