/**
 * The upstream link signing with the edge device's `$edgeHub` module key (upstream.connectionString
 * `…;ModuleId=$edgeHub;…`), as IoT Hub expects of an edge hub acting for the identities below it
 * (notes 6.2: edge hub's own token provider is its module's). Two real Outposts: a device's
 * telemetry below the child reaches the parent attributed to the device; the device scope is
 * fetched with that key; the child's `$edgeAgent` twin is relayed; and a module connection string
 * naming any other module is refused at start with a clear error.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { after, before, describe, it } from 'node:test';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';
import { parentControl, retryUntil } from './relay-harness.js';
import { CHILD, HUB, TwoHubs } from './upstream-harness.js';

describe('the upstream link signing with the $edgeHub module key', () => {
  let dir: { path: string; remove(): void };
  let hubs: TwoHubs;
  let sink: mqtt.MqttClient;
  const childEnv: Record<string, string> = {};

  before(async () => {
    dir = tempDir('outpost-edgehub-key-');
    hubs = new TwoHubs(dir.path, childEnv);
    const edgeHub = hubs.parentRegistry.add({ deviceId: CHILD, moduleId: '$edgeHub' });
    hubs.parentRegistry.add({ deviceId: CHILD, moduleId: '$edgeAgent' });
    // On the child its agent would make it (`outpost run`); this child is a hub alone.
    hubs.childRegistry.add({ deviceId: CHILD, moduleId: '$edgeAgent' });
    assert.equal(edgeHub.authentication.type, 'sas');
    const key = (edgeHub.authentication as { primaryKey: string }).primaryKey;
    childEnv.OUTPOST_UPSTREAM__CONNECTION_STRING = `HostName=${HUB};DeviceId=${CHILD};ModuleId=$edgeHub;SharedAccessKey=${key}`;
    // dev-k is known on the parent only: the child learns it from the device scope.
    hubs.parentRegistry.add({ deviceId: 'dev-k', parentDeviceId: CHILD });
    const parent = await hubs.startParent();
    childEnv.OUTPOST_UPSTREAM__HTTPS_PORT = String((parent.ready.ports as { https: number }).https);
    sink = await hubs.connectSink();
    await hubs.startChild();
  });

  after(async () => {
    sink?.end(true);
    await hubs?.close();
    dir?.remove();
  });

  it('fetches the device scope with it and sends a device\'s telemetry on behalf of it', async () => {
    const synced = await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.scope_synced', 30_000);
    assert.ok((synced.identities as number) >= 1, JSON.stringify(synced));
    // With its key from the parent: the child knows dev-k only from the scope it fetched.
    const device = await hubs.connectToChild('dev-k', undefined, hubs.key(hubs.parentRegistry, 'dev-k'));
    try {
      for (let seq = 1; seq <= 3; seq++) await TwoHubs.publish(device, 'devices/dev-k/messages/events/', 'dev-k', seq);
      await hubs.waitForAll('dev-k', 3);
    } finally {
      device.end(true);
    }
    assert.deepEqual(hubs.firstArrivals('dev-k'), [1, 2, 3]);
    assert.ok(hubs.received.filter((r) => r.source === 'dev-k').every((r) => r.cdid === 'dev-k'), 'attributed to the device');
  });

  it('relays the child\'s $edgeAgent twin (its own module, signed on behalf of it)', async () => {
    const desired = await parentControl(hubs).call('PATCH', `/v1/twins/${CHILD}/modules/${encodeURIComponent('$edgeAgent')}/desired`, JSON.stringify({ marker: 'from-parent' }));
    assert.equal(desired.status, 200, JSON.stringify(desired.body));
    const child = new (await import('../../src/hub/control/index.js')).HubControlClient(join(hubs.childDir, 'hub.sock'));
    await retryUntil('the desired marker on the child', async () => {
      const twin = await child.call('GET', `/v1/twins/${CHILD}/modules/${encodeURIComponent('$edgeAgent')}`);
      return twin.status === 200 && (twin.body as { properties: { desired: { marker?: string } } }).properties.desired.marker === 'from-parent' ? true : undefined;
    });
  });

  it('refuses at start a connection string of any other module', async () => {
    const config = join(dir.path, 'bad-upstream.json');
    writeFileSync(config, JSON.stringify({ deviceId: CHILD, upstream: { hostname: 'localhost', connectionString: `HostName=${HUB};DeviceId=${CHILD};ModuleId=other;SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}` } }));
    const checked = await runOutpost(['hub', '--config', config, '--data-dir', join(dir.path, 'bad'), '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0']);
    assert.equal(checked.code, 2, checked.stderr);
    assert.match(checked.stdout + checked.stderr, /OUTPOST_UPSTREAM_CONFIG_INVALID/);
    assert.match(checked.stdout + checked.stderr, /only the edge device's own key or its \$edgeHub module's/);
    assert.doesNotMatch(checked.stdout + checked.stderr, /AQEBAQEB/, 'the key is not echoed');
  });
});
