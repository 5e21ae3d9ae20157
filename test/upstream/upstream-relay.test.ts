/**
 * Twins, direct methods and C2D relayed between a parent Outpost and the clients of its child
 * (docs/upstream.md, "What is relayed"): real hubs on loopback, the real Azure IoT device SDK
 * (AMQP) on the child, the parent's operator API playing the cloud.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { childControl, LinkCutter, parentControl, retryUntil, sdkOnChild } from './relay-harness.js';
import { CHILD, TwoHubs } from './upstream-harness.js';

const settle = (client: any, verb: 'complete' | 'reject' | 'abandon', message: any) =>
  new Promise<void>((resolve, reject) => client[verb](message, (error: unknown) => (error ? reject(error) : resolve())));
const report = (twin: any, patch: unknown) => new Promise<void>((resolve, reject) => twin.properties.reported.update(patch, (error: unknown) => (error ? reject(error) : resolve())));

/** Invokes on the parent until the relay's method links are there (404 until then), then returns the answer. */
async function invokeOnParent(hubs: TwoHubs, path: string, methodName: string, payload: unknown): Promise<{ status: number; body: any }> {
  return retryUntil(`${methodName} to reach the child's client`, async () => {
    const answer = await parentControl(hubs).call('POST', path, JSON.stringify({ methodName, payload, responseTimeoutInSeconds: 10 }));
    if (answer.status === 404) return undefined;
    return answer as { status: number; body: any };
  });
}

/** Sets desired on the parent until the client has seen a patch with `marker` (the relay subscribes in the background). */
async function desiredUntilSeen(hubs: TwoHubs, twinPath: string, patches: any[], marker: string): Promise<any> {
  let n = 0;
  return retryUntil(`a desired patch with ${marker} at the client`, async () => {
    const found = patches.find((p) => p[marker] !== undefined);
    if (found !== undefined) return found;
    const result = await parentControl(hubs).call('PATCH', `/v1/twins/${twinPath}/desired`, JSON.stringify({ [marker]: n++ }));
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return undefined;
  }, 30_000, 300);
}

async function parentTwin(hubs: TwoHubs, twinPath: string): Promise<any> {
  const answer = await parentControl(hubs).call('GET', `/v1/twins/${twinPath}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

describe('twins, methods and C2D relayed from a parent Outpost to the clients of its child', () => {
  let hubs: TwoHubs;
  let dir: { path: string; remove(): void };
  const clients: any[] = [];

  before(async () => {
    dir = tempDir('outpost-relay-');
    hubs = new TwoHubs(dir.path);
    for (const id of ['dev1', 'dev2', 'dev3']) hubs.addChildIdentity(id);
    hubs.addChildIdentity(CHILD, 'mod1');
    await hubs.startParent();
    await hubs.startChild();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hubs.close();
    dir.remove();
  });

  it('answers a method invoked on the parent from a device on the child, and from a module of the child', async () => {
    const requests: unknown[] = [];
    const device = await sdkOnChild(hubs, clients, 'dev1');
    device.onDeviceMethod('reboot', (request: any, response: any) => {
      requests.push(request.payload);
      response.send(201, { rebooted: true }, () => undefined);
    });
    const answer = await invokeOnParent(hubs, '/v1/methods/dev1', 'reboot', { delay: 1 });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { status: 201, payload: { rebooted: true } });
    assert.deepEqual(requests.at(-1), { delay: 1 });

    const module = await sdkOnChild(hubs, clients, CHILD, 'mod1');
    module.onMethod('ping', (request: any, response: any) => response.send(200, { echo: request.payload }, () => undefined));
    const moduleAnswer = await invokeOnParent(hubs, `/v1/methods/${CHILD}/modules/mod1`, 'ping', 'hello');
    assert.deepEqual(moduleAnswer.body, { status: 200, payload: { echo: 'hello' } });
  });

  it('delivers C2D queued on the parent to a device on the child; abandon, complete and reject go back up', async () => {
    const received: any[] = [];
    const device = await sdkOnChild(hubs, clients, 'dev2', undefined, (client) => client.on('message', (message: any) => received.push(message)));
    const api = parentControl(hubs);
    const send = async (body: string) => {
      const result = await api.call('POST', '/v1/devices/dev2/messages/devicebound', JSON.stringify({ body, messageId: `m-${body}`, properties: { kind: body } }));
      assert.equal(result.status, 202, JSON.stringify(result.body));
    };
    await send('first');
    await retryUntil('the first C2D message at the device', async () => (received.length >= 1 ? true : undefined));
    assert.equal(received[0].data.toString(), 'first');
    assert.equal(received[0].messageId, 'm-first');
    assert.equal(received[0].properties.getValue('kind'), 'first');
    await settle(device, 'abandon', received[0]);
    await retryUntil('the abandoned message again', async () => (received.length >= 2 ? true : undefined));
    assert.equal(received[1].data.toString(), 'first', 'an abandoned message comes again from the parent');
    await settle(device, 'complete', received[1]);
    await send('second');
    await retryUntil('the second message', async () => (received.length >= 3 ? true : undefined));
    assert.equal(received[2].data.toString(), 'second', 'the completed message is gone from the parent; the next one follows');
    await settle(device, 'reject', received[2]);
    const queue = await retryUntil('the parent\'s queue to empty', async () => {
      const listed = await api.call('GET', '/v1/devices/dev2/messages/devicebound');
      return (listed.body as any).queued === 0 ? listed.body : undefined;
    });
    assert.deepEqual((queue as any).messages, []);
    // The child stored nothing of it: C2D is relayed, not queued here.
    const childQueue = await childControl(hubs).call('GET', '/v1/devices/dev2/messages/devicebound');
    assert.equal((childQueue.body as any).queued, 0);
  });

  it('sends desired patches set on the parent to the client, and its reported patches up in order', async () => {
    const device = await sdkOnChild(hubs, clients, 'dev3');
    const twin = await device.getTwin();
    const patches: any[] = [];
    twin.on('properties.desired', (patch: any) => patches.push(patch));
    const seen = await desiredUntilSeen(hubs, 'dev3', patches, 'interval');
    const parentDesired = (await parentTwin(hubs, 'dev3')).properties.desired;
    assert.equal(typeof seen.$version, 'number');
    assert.ok(seen.$version <= parentDesired.$version);
    // The child's copy has the parent's content and version.
    const childTwin = await childControl(hubs).call('GET', '/v1/twins/dev3');
    assert.deepEqual((childTwin.body as any).properties.desired, parentDesired);

    for (let i = 0; i < 20; i++) await report(twin, { counter: i, [`k${i % 3}`]: { at: i } });
    await report(twin, { k0: null, done: true });
    const reported = await retryUntil('the reported patches at the parent', async () => {
      const r = (await parentTwin(hubs, 'dev3')).properties.reported;
      return r.done === true ? r : undefined;
    });
    assert.equal(reported.counter, 19, 'the last patch is the one that stays: they arrived in order');
    assert.deepEqual(reported.k1, { at: 19 });
    assert.deepEqual(reported.k2, { at: 17 });
    assert.equal(reported.k0, undefined, 'a null removes the key at the parent too');
  });
});

describe('the relay across a cut upstream link', () => {
  it('re-attaches after the link comes back: the missed desired change arrives as one patch, offline reported patches go up, methods and C2D work again', async (t: TestContext) => {
    const dir = tempDir('outpost-relay-cut-');
    // The re-pull on reattach is not rate-limited here (upstream-twin-resync.test.ts tests the limit).
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms', OUTPOST_UPSTREAM__MIN_TWIN_SYNC_PERIOD: '0s' });
    const clients: any[] = [];
    let proxy: LinkCutter | undefined;
    t.after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await proxy?.cut();
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev1');
    const parent = await hubs.startParent();
    proxy = new LinkCutter(parent.amqpPort);
    await hubs.startChild(await proxy.start());
    const received: any[] = [];
    const device = await sdkOnChild(hubs, clients, 'dev1', undefined, (client) => client.on('message', (message: any) => received.push(message)));
    device.onDeviceMethod('where', (_request: any, response: any) => response.send(200, { here: true }, () => undefined));
    const twin = await device.getTwin();
    const patches: any[] = [];
    twin.on('properties.desired', (patch: any) => patches.push(patch));
    await desiredUntilSeen(hubs, 'dev1', patches, 'before');
    assert.equal((await invokeOnParent(hubs, '/v1/methods/dev1', 'where', null)).body.status, 200);

    await proxy.cut();
    await retryUntil('the child to see the link gone', async () => (hubs.child!.outpost.lines.some((l) => l.event === 'upstream.disconnected') ? true : undefined));
    // While cut: desired changes on the parent, the client reports (answered by the child), C2D is queued on the parent.
    const changed = await parentControl(hubs).call('PATCH', '/v1/twins/dev1/desired', JSON.stringify({ missed: 'yes', before: null }));
    assert.equal(changed.status, 200);
    await report(twin, { offline: 1 });
    await report(twin, { offline: 2, note: 'cut' });
    const queued = await parentControl(hubs).call('POST', '/v1/devices/dev1/messages/devicebound', JSON.stringify({ body: 'after-cut' }));
    assert.equal(queued.status, 202);
    const seenBefore = patches.length;

    await proxy.restore();
    const synthesized = await retryUntil('the desired change missed while cut', async () => patches.slice(seenBefore).find((p) => p.missed === 'yes'));
    assert.equal(synthesized.before, null, 'the synthesized patch removes what the parent removed');
    assert.equal(synthesized.$version, (changed.body as any).version);
    const reported = await retryUntil('the offline reported patches at the parent', async () => {
      const r = (await parentTwin(hubs, 'dev1')).properties.reported;
      return r.offline === 2 ? r : undefined;
    });
    assert.equal(reported.note, 'cut');
    await retryUntil('the C2D message queued while cut', async () => (received.some((m) => m.data.toString() === 'after-cut') ? true : undefined));
    await settle(device, 'complete', received.find((m) => m.data.toString() === 'after-cut'));
    assert.equal((await invokeOnParent(hubs, '/v1/methods/dev1', 'where', null)).body.status, 200);
  });

  it('serves an MQTT client on the child again after the parent is killed (-9) and restarted: method, desired, reported and C2D', async (t: TestContext) => {
    const dir = tempDir('outpost-relay-kill-');
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms' });
    const clients: any[] = [];
    t.after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev1');
    const first = await hubs.startParent();
    await hubs.startChild();
    const received: any[] = [];
    const device = await sdkOnChild(hubs, clients, 'dev1', undefined, (client) => client.on('message', (message: any) => received.push(message)), 'mqtt');
    device.onDeviceMethod('where', (_request: any, response: any) => response.send(200, { here: true }, () => undefined));
    const twin = await device.getTwin();
    const patches: any[] = [];
    twin.on('properties.desired', (patch: any) => patches.push(patch));
    await desiredUntilSeen(hubs, 'dev1', patches, 'before');

    await hubs.killParent();
    await report(twin, { during: 'kill' });
    await hubs.startParent(first.amqpPort);
    assert.deepEqual((await invokeOnParent(hubs, '/v1/methods/dev1', 'where', null)).body, { status: 200, payload: { here: true } });
    await desiredUntilSeen(hubs, 'dev1', patches, 'after');
    const reported = await retryUntil('the reported patch made while the parent was down', async () => {
      const r = (await parentTwin(hubs, 'dev1')).properties.reported;
      return r.during === 'kill' ? r : undefined;
    });
    assert.equal(reported.during, 'kill');
    const sent = await parentControl(hubs).call('POST', '/v1/devices/dev1/messages/devicebound', JSON.stringify({ body: 'after-restart' }));
    assert.equal(sent.status, 202);
    await retryUntil('the C2D message sent after the restart', async () => (received.some((m) => m.data.toString() === 'after-restart') ? true : undefined));
    // The SDK's MQTT transport acknowledges on receipt (PUBACK): that completes it on the parent.
    const queue = await retryUntil('the parent\'s queue to empty', async () => {
      const listed = await parentControl(hubs).call('GET', '/v1/devices/dev1/messages/devicebound');
      return (listed.body as any).queued === 0 ? listed.body : undefined;
    });
    assert.deepEqual((queue as any).messages, []);
  });
});
