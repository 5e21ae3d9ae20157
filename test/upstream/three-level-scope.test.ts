/**
 * A device registered at the root of a three-level hierarchy only connects at once to the gateway
 * two levels down (docs/upstream.md, "The device scope"): the leaf gateway asks the middle one for
 * it (`getDeviceAndModuleOnBehalfOf`), and the middle one, not knowing it either, asks the root
 * before it answers, as Azure's edge hub forwards such a request. Three real hubs on loopback,
 * each fetching its scope from the one above over HTTPS.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { tempDir } from '../helpers/outpost-process.js';
import { sasLogin } from '../helpers/sas-hub.js';
import { LEAF_EDGE, ThreeHubs } from './three-level-harness.js';
import { HUB } from './upstream-harness.js';

const CONNECT_TIMEOUT_MS = 15_000;
/** How long a hub's log line may take to reach this process after the client is connected. */
const LOG_LINE_TIMEOUT_MS = 5_000;

function connect(port: number, ca: string, key: string, deviceId: string): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtts://localhost:${port}`, { ...sasLogin(HUB, key, deviceId), ca, reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
  });
}

describe('the device scope three levels down', () => {
  it('lets a device registered at the root only connect to the leaf gateway at once: the middle one asks the root for it', async (t: TestContext) => {
    const dir = tempDir('outpost-three-scope-');
    const overrides: Record<'parent' | 'child', Record<string, string>> = { parent: {}, child: {} };
    const hubs = new ThreeHubs(dir.path, overrides);
    const clients: mqtt.MqttClient[] = [];
    t.after(async () => {
      for (const client of clients) client.end(true);
      await hubs.close();
      dir.remove();
    });
    const root = await hubs.startRoot();
    overrides.parent.OUTPOST_UPSTREAM__HTTPS_PORT = String((root.ready.ports as { https: number }).https);
    const middle = await hubs.startParent();
    overrides.child.OUTPOST_UPSTREAM__HTTPS_PORT = String((middle.ready.ports as { https: number }).https);
    const leaf = await hubs.startChild();
    await middle.outpost.waitFor((line) => line.event === 'upstream.scope_synced', 30_000);
    await leaf.outpost.waitFor((line) => line.event === 'upstream.scope_synced', 30_000);

    // Registered at the root alone, below the leaf gateway, after both gateways synced their scopes
    // (their next periodic sync is an hour away).
    const late = hubs.registries.root.add({ deviceId: 'late-dev', parentDeviceId: LEAF_EDGE });
    assert.equal(late.authentication.type, 'sas');
    const key = (late.authentication as { primaryKey: string }).primaryKey;
    const startedMs = Date.now();
    clients.push(await connect(leaf.mqttPort, leaf.ca, key, 'late-dev'));
    assert.ok(Date.now() - startedMs < 10_000, `connected after ${Date.now() - startedMs} ms`);

    // Each hub's log reaches this process through its own pipe: a line written before the CONNACK
    // can still be on its way when the client is connected, so each is awaited (bounded), not read
    // from what has arrived so far.
    const atMiddle = await middle.outpost.waitFor((line) => line.event === 'identity.scope_served' && line.target === 'late-dev', LOG_LINE_TIMEOUT_MS);
    assert.equal(atMiddle.lookedUp, true, 'the middle one did not know it and asked the root');
    assert.equal(atMiddle.devices, 1);
    await middle.outpost.waitFor((line) => line.event === 'upstream.scope_identity_fetched' && line.identity === 'late-dev', LOG_LINE_TIMEOUT_MS);
    await leaf.outpost.waitFor((line) => line.event === 'upstream.scope_identity_fetched' && line.identity === 'late-dev', LOG_LINE_TIMEOUT_MS);
    await root.outpost.waitFor((line) => line.event === 'identity.scope_served' && line.target === 'late-dev', LOG_LINE_TIMEOUT_MS);
  });
});
