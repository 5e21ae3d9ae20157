/**
 * A desired patch from the parent applies here only on the version it follows (docs/upstream.md,
 * "Twin GET, the re-pull and the stored outbox"): one that does not — a change missed, or a copy
 * here changed behind the parent's back — is not applied; the relay pulls the whole section again
 * and the subscribed client gets the difference. Real hubs on loopback, over both upstream
 * protocols; an mqtt.js device on the child speaking IoT Hub's MQTT twin topics.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type mqtt from 'mqtt';
import { tempDir } from '../helpers/outpost-process.js';
import { childControl, retryUntil } from './relay-harness.js';
import { setDesiredOnParent } from './twin-sync-harness.js';
import { TwoHubs } from './upstream-harness.js';

const DESIRED_PREFIX = '$iothub/twin/PATCH/properties/desired/';

/** Every desired patch the device receives, in order. */
function desiredPatches(device: mqtt.MqttClient): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  device.on('message', (topic, payload) => {
    if (topic.startsWith(DESIRED_PREFIX)) seen.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
  });
  return seen;
}

describe('desired patches from the parent out of order', () => {
  for (const protocol of ['Amqp', 'Mqtt'] as const) {
    it(`${protocol}: a patch that does not follow the version here is not applied; the section is pulled again and the device gets the difference`, async (t: TestContext) => {
      const dir = tempDir('outpost-twin-order-');
      // A long MinTwinSyncPeriod: no re-pull on a schedule can be what repairs the copy here.
      const childEnv: Record<string, string> = { OUTPOST_UPSTREAM__PROTOCOL: protocol, OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms', MinTwinSyncPeriodSecs: '600' };
      const hubs = new TwoHubs(dir.path, childEnv);
      t.after(async () => {
        await hubs.close();
        dir.remove();
      });
      hubs.addChildIdentity('dev5');
      const parent = await hubs.startParent();
      childEnv.OUTPOST_UPSTREAM__MQTT_PORT = String(parent.mqttPort);
      await hubs.startChild();
      await setDesiredOnParent(hubs, 'dev5', { a: 1 });
      const device = await hubs.connectToChild('dev5');
      const patches = desiredPatches(device);
      await device.subscribeAsync([DESIRED_PREFIX + '#', '$iothub/twin/res/#'], { qos: 0 });
      const copy = async () => ((await childControl(hubs).call('GET', '/v1/twins/dev5')).body as any).properties.desired;

      // In step: the parent's change reaches the device (the relay is subscribed at the parent).
      const inStep = await setDesiredOnParent(hubs, 'dev5', { a: 2 });
      await retryUntil('the parent\'s change at the device', async () => (patches.some((p) => p.$version === inStep && p.a === 2) ? true : undefined));
      assert.deepEqual(await copy(), { a: 2, $version: inStep });

      // The copy here changed behind the parent's back: its version now runs level with the parent's.
      const local = await childControl(hubs).call('PATCH', '/v1/twins/dev5/desired', JSON.stringify({ local: true }));
      assert.equal(local.status, 200, JSON.stringify(local.body));
      assert.equal((local.body as { version: number }).version, inStep + 1);
      const next = await setDesiredOnParent(hubs, 'dev5', { b: 1 });
      assert.equal(next, inStep + 1);

      // The parent's patch carries a version the copy here already has: not applied, re-pulled.
      await retryUntil('the parent\'s section in the copy here', async () => {
        const desired = await copy();
        return desired.b === 1 && !('local' in desired) ? true : undefined;
      });
      assert.deepEqual(await copy(), { a: 2, b: 1, $version: next });
      // Looked up by its version: the in-step patch can arrive twice when the relay attaches at
      // the parent while it is made (once in the relay's first GET, once as a patch), and that
      // second copy is out of order too (seen once in a full run).
      const outOfOrder = hubs.child!.outpost.lines.find((line) => line.event === 'upstream.desired_out_of_order' && line.twinId === 'dev5' && line.version === next);
      assert.ok(outOfOrder !== undefined, `the out-of-order patch ${next} was logged`);
      // The device got the difference: b set, the local change removed.
      await retryUntil('the difference at the device', async () => (patches.some((p) => p.b === 1 && p.local === null && p.$version === next) ? true : undefined));
    });
  }
});
