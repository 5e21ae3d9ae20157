/**
 * An identity unknown here looked up in the parent's device scope (Azure's edge hub asks IoT Hub
 * for that one identity, `deviceAndModuleInDeviceScope`, the same way): a device, or a module of
 * a new device, registered on the parent after the child's last sync connects to the child at
 * once — the child asks for it before refusing it — with the periodic refresh an hour away; an
 * identity the parent does not know either is refused, and asking again and again costs the parent
 * one request per interval, not one per attempt; and the parent (as IoT Hub does) tells the child
 * to refresh the whole scope with the `RefreshDeviceScopeIdentityCache` direct method on its
 * `$edgeHub`. Two real Outposts, mqtt.js clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { tempDir } from '../helpers/outpost-process.js';
import { parentControl, retryUntil } from './relay-harness.js';
import { sasLogin } from '../helpers/sas-hub.js';
import { CHILD, HUB, TwoHubs } from './upstream-harness.js';

async function connect(hubs: TwoHubs, deviceId: string, key: string, moduleId?: string): Promise<mqtt.MqttClient> {
  const child = hubs.child!;
  const client = mqtt.connect(`mqtts://localhost:${child.mqttPort}`, { ...sasLogin(HUB, key, deviceId, moduleId), ca: child.ca, reconnectPeriod: 0, connectTimeout: 20_000 });
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
  } catch (error) {
    client.end(true);
    throw error;
  }
  return client;
}

describe('the device scope fetched on demand for an identity unknown here', () => {
  let dir: { path: string; remove(): void };
  let hubs: TwoHubs;
  const childEnv: Record<string, string> = { OUTPOST_UPSTREAM__SCOPE_REFRESH_INTERVAL: '1h' };
  const servedLines = () => hubs.parent!.outpost.lines.filter((line) => line.event === 'identity.scope_served' && line.identity === CHILD);
  const served = () => servedLines().length;

  before(async () => {
    dir = tempDir('outpost-scope-demand-');
    hubs = new TwoHubs(dir.path, childEnv);
    hubs.parentRegistry.add({ deviceId: 'early', parentDeviceId: CHILD });
    hubs.parentRegistry.add({ deviceId: CHILD, moduleId: '$edgeHub' });
    const parent = await hubs.startParent();
    childEnv.OUTPOST_UPSTREAM__HTTPS_PORT = String((parent.ready.ports as { https: number }).https);
    const child = await hubs.startChild();
    await child.outpost.waitFor((line) => line.event === 'upstream.scope_synced', 30_000);
  });

  after(async () => {
    await hubs?.close();
    dir?.remove();
  });

  it('lets a device registered on the parent after the last sync connect to the child at once', async () => {
    const before = served();
    const late = hubs.parentRegistry.add({ deviceId: 'late', parentDeviceId: CHILD });
    const client = await connect(hubs, 'late', (late.authentication as { primaryKey: string }).primaryKey);
    client.end(true);
    assert.equal(served(), before + 1, 'one request, made for this login');
    assert.equal(servedLines().at(-1)!.target, 'late', 'for that identity alone, not the whole scope');
    hubs.childRegistry.refresh();
    assert.equal(hubs.childRegistry.get('late')?.source, 'upstream');
  });

  it('lets a module of a device registered on the parent after the last sync connect, with one request for both', async () => {
    const before = served();
    hubs.parentRegistry.add({ deviceId: 'late-edge', parentDeviceId: CHILD });
    const module = hubs.parentRegistry.add({ deviceId: 'late-edge', moduleId: 'm1' });
    const client = await connect(hubs, 'late-edge', (module.authentication as { primaryKey: string }).primaryKey, 'm1');
    client.end(true);
    assert.equal(served(), before + 1);
    assert.equal(servedLines().at(-1)!.target, 'late-edge/m1');
    hubs.childRegistry.refresh();
    assert.ok(hubs.childRegistry.get('late-edge') !== undefined && hubs.childRegistry.get('late-edge', 'm1') !== undefined, 'the device and its module are both here now');
  });

  it('refuses an identity the parent does not know either, fetching the scope at most once per interval', async () => {
    const before = served();
    const key = Buffer.alloc(32, 3).toString('base64');
    for (let attempt = 0; attempt < 4; attempt++) await assert.rejects(connect(hubs, 'nobody', key), /Bad username or password|Not authorized|closed before CONNACK/);
    // The first attempt asks the parent; the other three, within 10 s of it, ask nothing.
    assert.equal(served() - before, 1, `the parent was asked ${served() - before} times for 4 refused logins`);
    assert.equal(servedLines().at(-1)!.target, 'nobody');
  });

  it('asks the parent at most 20 times per 10 s for made-up identities, however many', async () => {
    const before = served();
    const key = Buffer.alloc(32, 5).toString('base64');
    const logins = Array.from({ length: 30 }, (_, i) => connect(hubs, `made-up-${i}`, key));
    const outcomes = await Promise.allSettled(logins);
    assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 30, 'every made-up identity refused');
    const asked = served() - before;
    assert.ok(asked >= 1 && asked <= 20, `the parent was asked ${asked} times for 30 made-up identities`);
  });

  it('refreshes the scope when the parent invokes RefreshDeviceScopeIdentityCache on the child\'s $edgeHub', async () => {
    hubs.parentRegistry.add({ deviceId: 'by-method', parentDeviceId: CHILD });
    const invoke = (methodName: string) => parentControl(hubs).call('POST', `/v1/methods/${CHILD}/modules/${encodeURIComponent('$edgeHub')}`, JSON.stringify({ methodName, payload: null, responseTimeoutInSeconds: 30 }));
    // The relay attaches $edgeHub's method links in the background once the link is up.
    const answer = await retryUntil('$edgeHub answering methods', async () => {
      const a = await invoke('RefreshDeviceScopeIdentityCache');
      return a.status === 200 ? a : undefined;
    });
    assert.deepEqual(answer.body, { status: 200, payload: null });
    hubs.childRegistry.refresh();
    assert.equal(hubs.childRegistry.get('by-method')?.source, 'upstream', 'synced when the method answered');
    const unknown = await invoke('Reboot');
    assert.equal(unknown.status, 200);
    assert.equal((unknown.body as { status: number }).status, 404);
  });
});
