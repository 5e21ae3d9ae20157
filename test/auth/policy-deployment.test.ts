/**
 * The broker policy follows the deployment (a real `outpost run`, SAS-authenticated mqtt.js
 * clients over TLS): the manifest's `$edgeHub` `mqttBroker.authorizations` is enforced from the
 * start; `outpost deploy` with a narrower policy takes away exactly what it no longer allows; an
 * invalid policy is refused (status 400, with its path) and the policy in force stays.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket } from 'mqtt';
import { connectClient, type TestClient } from '../mqtt/mqtt-clients.js';
import { runOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentities, primaryKey, sasLogin, startSasHub, type SasHub } from '../helpers/sas-hub.js';

const EDGE = 'edge-p';
const HUB = 'policy.azure-devices.net';
const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB };
const dir = tempDir('outpost-policy-deploy-');
const dataDir = join(dir.path, 'data');
const DEVICES = ['dev-a', 'dev-c', 'pub'];
const keys = new Map<string, string>();
const site = { dataDir, hub: HUB, env };
let hub: SasHub | undefined;
let outpost: OutpostProcess | undefined;

const connectAll = { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] };
const WIDE = [connectAll, { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#', 'alerts/#'] }] }];
const NARROW = [
  { identities: [`${HUB}/dev-c`], deny: [{ operations: ['mqtt:connect'] }] },
  connectAll,
  { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#'] }] },
  { identities: [`${HUB}/pub`], allow: [{ operations: ['mqtt:publish'], resources: ['alerts/#'] }] },
];
const INVALID = [connectAll, { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish'], resources: ['alerts/#/x'] }] }];

function manifest(authorizations: unknown): string {
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.2', routes: {}, storeAndForwardConfiguration: { timeToLiveSecs: 7200 }, mqttBroker: { authorizations } } },
    },
  });
}

function writeManifest(name: string, authorizations: unknown): string {
  const file = join(dir.path, name);
  writeFileSync(file, manifest(authorizations));
  return file;
}

async function connect(deviceId: string, protocolVersion: 4 | 5 = 4): Promise<TestClient> {
  return connectClient(`mqtts://localhost:${hub!.port}`, { ...sasLogin(HUB, keys.get(deviceId)!, deviceId), ca: hub!.ca, protocolVersion });
}

async function subscribed(client: TestClient, filters: string[]): Promise<void> {
  const granted = await client.client.subscribeAsync(filters, { qos: 1 });
  assert.deepEqual(granted.map((g) => g.qos), filters.map(() => 1));
}

before(async () => {
  await addIdentities(site, DEVICES.map((id) => [id]));
  for (const id of DEVICES) keys.set(id, await primaryKey(site, id));
  hub = await startSasHub(site, 'run', ['--deployment', writeManifest('deployment.json', WIDE)]);
  outpost = hub.outpost;
});

after(async () => {
  await stopQuietly(outpost);
  dir.remove();
});

describe('the broker policy from the deployment', () => {
  it('replaces the policy on `outpost deploy`, taking away only what the new one no longer allows', async () => {
    const a = await connect('dev-a', 5);
    const c = await connect('dev-c', 5);
    const pub = await connect('pub');
    await subscribed(a, ['plant/#', 'alerts/#']);
    await subscribed(c, ['plant/#']);
    await pub.client.publishAsync('alerts/0', 'wide', { qos: 1 });
    await a.waitFor(1);

    const disconnectOfC = new Promise<IDisconnectPacket>((resolve) => c.client.once('disconnect', resolve));
    const closedC = new Promise<void>((resolve) => c.client.once('close', () => resolve()));
    const deployed = await runOutpost(['deploy', writeManifest('narrow.json', NARROW), '--data-dir', dataDir], { env });
    assert.equal(deployed.code, 0, deployed.stderr);
    await outpost!.waitFor((l) => l.event === 'auth.policy_replaced');
    const revoked = outpost!.lines.filter((l) => l.event === 'auth.policy_revoked').map((l) => ({ clientId: l.clientId, connect: l.connect, subscriptions: l.subscriptions }));
    assert.deepEqual(
      revoked.sort((x, y) => String(x.clientId).localeCompare(String(y.clientId))),
      [
        { clientId: 'dev-a', connect: false, subscriptions: ['alerts/#'] },
        { clientId: 'dev-c', connect: true, subscriptions: [] },
      ],
    );
    assert.equal((await disconnectOfC).reasonCode, 0x87);
    await closedC;
    assert.ok(a.client.connected && pub.client.connected);
    await pub.client.publishAsync('alerts/1', 'narrow', { qos: 1 });
    await pub.client.publishAsync('plant/1', 'narrow', { qos: 1 });
    await a.waitFor(2);
    assert.deepEqual(a.messages.map((m) => m.topic), ['alerts/0', 'plant/1']);
    await Promise.all([a.end(), pub.end()]);
  });

  it('refuses a deployment with an invalid policy (400, with the path) and keeps the policy in force', async () => {
    const bad = writeManifest('invalid.json', INVALID);
    const deployed = await runOutpost(['deploy', bad, '--data-dir', dataDir], { env });
    assert.equal(deployed.code, 2);
    assert.match(deployed.stderr, /status 400/);
    assert.match(deployed.stderr, /mqttBroker\.authorizations\[1\]\.allow\[0\]\.resources\[0\]: "alerts\/#\/x" is not a valid MQTT topic filter.*\(OUTPOST_AUTH_POLICY_INVALID\)/);
    const rejected = await outpost!.waitFor((l) => l.event === 'agent.deployment_rejected');
    assert.equal(rejected.level, 'error');
    assert.deepEqual((rejected.problems as { code?: string }[]).map((p) => p.code), ['OUTPOST_AUTH_POLICY_INVALID']);

    // Still the narrow policy: dev-c stays out, dev-a may not subscribe to alerts.
    await assert.rejects(connect('dev-c', 5), (error: { code?: number }) => error.code === 0x87);
    const a = await connect('dev-a', 5);
    await assert.rejects(a.client.subscribeAsync('alerts/#', { qos: 1 }), /Subscribe error/);
    await subscribed(a, ['plant/#']);
    await a.end();
    assert.equal(outpost!.lines.filter((l) => l.event === 'auth.policy_replaced').length, 1);
  });

  it('`outpost check` reports an invalid policy in a manifest with status 400 and its path', async () => {
    const checked = await runOutpost(['check', '--deployment', join(dir.path, 'invalid.json'), '--data-dir', join(dir.path, 'check-data')], { env });
    assert.equal(checked.code, 2);
    assert.match(checked.stderr, /deployment: 1 problem\(s\) in .*invalid\.json \(status 400\)/);
    assert.match(checked.stderr, /modulesContent\.\$edgeHub\['properties\.desired'\]\.mqttBroker\.authorizations\[1\]\.allow\[0\]\.resources\[0\]: .*\(OUTPOST_AUTH_POLICY_INVALID\)/);
    const good = await runOutpost(['check', '--deployment', join(dir.path, 'narrow.json'), '--data-dir', join(dir.path, 'check-data')], { env });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /authorization policy: ok/);
  });
});
