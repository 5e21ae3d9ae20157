/**
 * Three Outposts on loopback, device → child gateway → parent gateway → root (issue 18, "Done
 * when"): telemetry two hops up in order with its sender's identity, the middle gateway killed
 * (-9) mid-stream, and twins, methods and C2D from the root to a device two levels down. The
 * 150 s upstream cut is in three-level-cut.test.ts (it needs a longer per-file timeout).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildConnectionString } from '../../src/hub/auth/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import { retryUntil } from './relay-harness.js';
import { ThreeHubs } from './three-level-harness.js';
import { HUB } from './upstream-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Client } = require('azure-iot-device') as Record<string, any>;
const { Amqp } = require('azure-iot-device-amqp') as { Amqp: unknown };

const publish = (client: { publishAsync(topic: string, payload: string, options: { qos: 1 }): Promise<unknown> }, source: string, seq: number) =>
  client.publishAsync(`devices/${source}/messages/events/`, JSON.stringify({ seq, source }), { qos: 1 });

describe('three Outposts: device → child gateway → parent gateway → root', () => {
  const site = (t: TestContext) => {
    const dir = tempDir('outpost-three-');
    const hubs = new ThreeHubs(dir.path, { child: { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms' }, parent: { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms' } });
    t.after(async () => {
      await hubs.close();
      dir.remove();
    });
    return hubs;
  };

  it('delivers a device\'s telemetry at the root, in order, as the device (routable there by $connectionDeviceId)', async (t) => {
    const hubs = site(t);
    hubs.registerDevice('dev1');
    hubs.registerDevice('dev2');
    await hubs.startRoot();
    await hubs.connectSink();
    await hubs.startParent();
    await hubs.startChild();
    const dev1 = await hubs.connectToChild('dev1');
    const dev2 = await hubs.connectToChild('dev2');
    const count = 120;
    await Promise.all(
      [
        [dev1, 'dev1'],
        [dev2, 'dev2'],
      ].map(async ([client, source]) => {
        for (let seq = 0; seq < count; seq++) await publish(client as never, source as string, seq);
      }),
    );
    await hubs.waitForAll('dev1', count);
    await hubs.waitForAll('dev2', count);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
    assert.deepEqual(hubs.firstArrivals('dev2'), [...Array(count).keys()]);
    // Attribution: the root's routing saw each device as the sender (not a gateway), two hops up.
    for (const item of hubs.received) assert.deepEqual([item.cdid, item.cmid], [item.source, undefined]);
  });

  it('loses no acknowledged message when the middle gateway is killed (-9) and restarted mid-stream; first arrivals in order', async (t) => {
    const hubs = site(t);
    hubs.registerDevice('dev1');
    await hubs.startRoot();
    await hubs.connectSink();
    const first = await hubs.startParent();
    await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    const count = 300;
    const killAt = 100;
    // Every publish below is awaited: resolved = PUBACK from the child = acknowledged.
    for (let seq = 0; seq < killAt; seq++) await publish(device, 'dev1', seq);
    await hubs.waitForAll('dev1', 10);
    await hubs.killParent();
    for (let seq = killAt; seq < count; seq++) await publish(device, 'dev1', seq);
    await hubs.startParent(first.amqpPort);
    await hubs.waitForAll('dev1', count, 90_000);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
    assert.ok(hubs.running.child!.outpost.lines.some((line) => line.event === 'upstream.disconnected'), 'the child saw its parent go');
  });

  it('relays twins, a direct method and C2D between the root and a device two levels down (Azure IoT device SDK, AMQP)', async (t) => {
    // Registered first, so it runs first: the SDK client closes while its hub is still there (closed
    // after the hub, it starts reconnecting and its timers keep the file from exiting).
    const clients: any[] = [];
    t.after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    });
    const hubs = site(t);
    hubs.registerDevice('dev1');
    await hubs.startRoot();
    await hubs.startParent();
    const child = await hubs.startChild();
    const record = hubs.registries.child.get('dev1')!;
    const device = Client.fromConnectionString(buildConnectionString(record, { iotHubHostname: HUB, gatewayHostname: `localhost:${child.amqpPort}` }), Amqp);
    await device.setOptions({ ca: child.ca });
    const c2d: any[] = [];
    device.on('message', (message: any) => c2d.push(message));
    await device.open();
    clients.push(device);
    device.onDeviceMethod('reboot', (request: any, response: any) => response.send(201, { rebooted: request.payload }, () => undefined));
    const twin = await device.getTwin();
    const patches: any[] = [];
    twin.on('properties.desired', (patch: any) => patches.push(patch));
    const root = new HubControlClient(join(hubs.dirs.root, HUB_CONTROL_SOCKET));

    // A method invoked at the root: 404 until both relays have attached their method links.
    const answer = await retryUntil('the method to reach the device two levels down', async () => {
      const result = await root.call('POST', '/v1/methods/dev1', JSON.stringify({ methodName: 'reboot', payload: { delay: 2 }, responseTimeoutInSeconds: 10 }));
      return result.status === 404 ? undefined : result;
    }, 60_000, 300);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { status: 201, payload: { rebooted: { delay: 2 } } });

    // Desired set at the root reaches the device (retried: the subscriptions attach in the background).
    let n = 0;
    const seen = await retryUntil('a desired patch from the root at the device', async () => {
      const found = patches.find((p) => p.fromRoot !== undefined);
      if (found !== undefined) return found;
      const result = await root.call('PATCH', '/v1/twins/dev1/desired', JSON.stringify({ fromRoot: n++ }));
      assert.equal(result.status, 200, JSON.stringify(result.body));
      return undefined;
    }, 60_000, 500);
    assert.equal(typeof seen.$version, 'number');

    // Reported from the device reaches the root's twin, in order (the last value stays).
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => twin.properties.reported.update({ step: i }, (error: unknown) => (error ? reject(error) : resolve())));
    }
    const reported = await retryUntil('the reported patches at the root', async () => {
      const r = (await root.call('GET', '/v1/twins/dev1')).body as any;
      return r.properties.reported.step === 4 ? r.properties.reported : undefined;
    }, 60_000, 300);
    assert.equal(reported.step, 4);

    // C2D sent at the root, completed by the device: the root's queue empties.
    const sent = await root.call('POST', '/v1/devices/dev1/messages/devicebound', JSON.stringify({ body: 'from-root', messageId: 'c2d-root-1' }));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const message = await retryUntil('the C2D message at the device', async () => c2d.find((m) => m.data.toString() === 'from-root'), 60_000);
    assert.equal(message.messageId, 'c2d-root-1');
    await new Promise<void>((resolve, reject) => device.complete(message, (error: unknown) => (error ? reject(error) : resolve())));
    await retryUntil('the root\'s C2D queue to empty', async () => {
      const listed = (await root.call('GET', '/v1/devices/dev1/messages/devicebound')).body as any;
      return listed.queued === 0 ? true : undefined;
    });
  });
});
