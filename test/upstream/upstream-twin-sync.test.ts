/**
 * The relay's twin gaps closed (docs/upstream.md, "Twin GET, the re-pull and the stored outbox"):
 * reported patches waiting for the parent survive a restart of the child (kill -9), a client's
 * twin GET asks the parent (the copy here when the link is down or slow), and the re-pull after a
 * reconnect is rate-limited per twin (upstream.minTwinSyncPeriod) and deferred, not skipped.
 * Real hubs on loopback, mqtt.js clients on the child speaking IoT Hub's MQTT twin topics.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type mqtt from 'mqtt';
import { stopQuietly, tempDir } from '../helpers/outpost-process.js';
import { childControl, parentControl, retryUntil } from './relay-harness.js';
import { TwoHubs } from './upstream-harness.js';

const TWIN_RESPONSE_TIMEOUT_MS = 30_000;

/** `$iothub/twin/GET` and its answer (`$iothub/twin/res/{status}/?$rid=`), with when it came. */
async function twinGet(client: mqtt.MqttClient, rid: string): Promise<{ status: number; body: any; atMs: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no answer to twin GET ${rid} within ${TWIN_RESPONSE_TIMEOUT_MS} ms`));
    }, TWIN_RESPONSE_TIMEOUT_MS);
    const onMessage = (topic: string, payload: Buffer) => {
      if (!topic.startsWith('$iothub/twin/res/') || !topic.endsWith(`$rid=${rid}`)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ status: Number(topic.split('/')[3]), body: JSON.parse(payload.toString('utf8') || '{}'), atMs: Date.now() });
    };
    client.on('message', onMessage);
    client.publish(`$iothub/twin/GET/?$rid=${rid}`, '');
  });
}

async function reportOverMqtt(client: mqtt.MqttClient, rid: string, patch: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to reported PATCH ${rid}`)), TWIN_RESPONSE_TIMEOUT_MS);
    const onMessage = (topic: string) => {
      if (!topic.startsWith('$iothub/twin/res/') || !topic.includes(`$rid=${rid}`)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(Number(topic.split('/')[3]));
    };
    client.on('message', onMessage);
    client.publish(`$iothub/twin/PATCH/properties/reported/?$rid=${rid}`, JSON.stringify(patch));
  });
}

async function setDesiredOnParent(hubs: TwoHubs, deviceId: string, patch: unknown): Promise<number> {
  const answer = await parentControl(hubs).call('PATCH', `/v1/twins/${deviceId}/desired`, JSON.stringify(patch));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as { version: number }).version;
}

async function parentReported(hubs: TwoHubs, deviceId: string): Promise<any> {
  const answer = await parentControl(hubs).call('GET', `/v1/twins/${deviceId}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as any).properties.reported;
}

/** A TCP proxy to `targetPort` (port 0) that can cut every connection, or stall them (bytes held, nothing closed). */
class StallingProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(port = 0): Promise<number> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: 'localhost', port: this.targetPort });
      const pair: [Socket, Socket] = [inbound, outbound];
      this.pairs.add(pair);
      for (const socket of pair) {
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.pairs.delete(pair);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Stops forwarding in both directions; connections stay open (a parent that answers slowly). */
  stall(): void {
    for (const [inbound, outbound] of this.pairs) {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      inbound.pause();
      outbound.pause();
    }
  }

  resume(): void {
    for (const [inbound, outbound] of this.pairs) {
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    }
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const pair of this.pairs) for (const socket of pair) socket.destroy();
    this.pairs.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('the relay\'s twin gaps', () => {
  it('sends a reported patch answered while the parent was down after the child restarted (kill -9 of both)', async (t: TestContext) => {
    const dir = tempDir('outpost-twin-outbox-');
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms' });
    t.after(async () => {
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev1');
    const first = await hubs.startParent();
    await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    await device.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    assert.equal(await reportOverMqtt(device, 'r1', { online: 1 }), 204);
    await retryUntil('the first reported patch at the parent', async () => ((await parentReported(hubs, 'dev1')).online === 1 ? true : undefined));

    await hubs.killParent();
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.disconnected', 30_000);
    // Answered by the child (durable there); the parent cannot take it now.
    assert.equal(await reportOverMqtt(device, 'r2', { offline: 1, online: null }), 204);
    assert.equal(await reportOverMqtt(device, 'r3', { offline: 2 }), 204);
    device.end(true);
    await stopQuietly(hubs.child!.outpost);

    await hubs.startParent(first.amqpPort);
    await hubs.startChild();
    // No client of dev1 is connected on the child now: the stored outbox alone brings it up.
    const reported = await retryUntil('the patches reported while the parent was down', async () => {
      const r = await parentReported(hubs, 'dev1');
      return r.offline === 2 ? r : undefined;
    });
    assert.equal(reported.online, undefined, 'the null of the stored patch removed the key on the parent');
    assert.ok(hubs.child!.outpost.lines.some((line) => line.event === 'upstream.outbox_loaded' && line.patches === 2));
  });

  it('asks the parent on a client\'s twin GET; answers from the copy here when the link is cut or the parent is slow', async (t: TestContext) => {
    const dir = tempDir('outpost-twin-get-');
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms', OUTPOST_UPSTREAM__TWIN_GET_TIMEOUT: '2s' });
    let proxy: StallingProxy | undefined;
    t.after(async () => {
      await proxy?.cut();
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev2');
    const parent = await hubs.startParent();
    proxy = new StallingProxy(parent.amqpPort);
    await hubs.startChild(await proxy.start());
    // Not subscribed to desired patches: only a GET can tell the client what changed on the parent.
    const device = await hubs.connectToChild('dev2');
    await device.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    await setDesiredOnParent(hubs, 'dev2', { a: 1 });
    let n = 0;
    await retryUntil('the relay attached (a GET sees the parent\'s desired)', async () => ((await twinGet(device, `w${n++}`)).body.desired.a === 1 ? true : undefined));

    const version = await setDesiredOnParent(hubs, 'dev2', { a: 2, b: 'x' });
    const relayed = await twinGet(device, 'g1');
    assert.equal(relayed.status, 200);
    assert.equal(relayed.body.desired.a, 2, 'the GET went to the parent: the copy here still has a = 1');
    assert.equal(relayed.body.desired.$version, version);

    proxy.stall();
    await setDesiredOnParent(hubs, 'dev2', { a: 3 });
    const askedMs = Date.now();
    const slow = await twinGet(device, 'g2');
    assert.equal(slow.status, 200);
    assert.equal(slow.body.desired.a, 2, 'the parent is silent: the copy here answers (taken from the parent at the last GET)');
    assert.ok(slow.atMs - askedMs >= 1_500, `answered after the 2 s upstream.twinGetTimeout, not before (${slow.atMs - askedMs} ms)`);

    await proxy.cut();
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.disconnected', 60_000);
    const cutAskedMs = Date.now();
    const offline = await twinGet(device, 'g3');
    assert.equal(offline.status, 200);
    assert.equal(offline.body.desired.a, 2);
    assert.ok(offline.atMs - cutAskedMs < 1_500, `the link is down: answered at once, without waiting for the parent (${offline.atMs - cutAskedMs} ms)`);
  });

  it('defers the re-pull of a reconnect sooner than upstream.minTwinSyncPeriod (MinTwinSyncPeriodSecs) to the end of the period', async (t: TestContext) => {
    const dir = tempDir('outpost-twin-resync-');
    const periodSec = 20;
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms', MinTwinSyncPeriodSecs: String(periodSec) });
    let proxy: StallingProxy | undefined;
    t.after(async () => {
      await proxy?.cut();
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev3');
    const parent = await hubs.startParent();
    proxy = new StallingProxy(parent.amqpPort);
    await hubs.startChild(await proxy.start());
    // Connected, not subscribed to desired patches and not asking (no GET): only the relay's
    // re-pull brings the parent's desired section into the copy here.
    const firstVersion = await setDesiredOnParent(hubs, 'dev3', { before: 1 });
    await hubs.connectToChild('dev3');
    const copy = async () => ((await childControl(hubs).call('GET', '/v1/twins/dev3')).body as any).properties.desired;
    // The first attach re-pulls.
    await retryUntil('the first re-pull in the copy here', async () => ((await copy()).$version >= firstVersion ? true : undefined));

    const proxyPort = proxy.port;
    await proxy.cut();
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.disconnected', 30_000);
    const missedVersion = await setDesiredOnParent(hubs, 'dev3', { missed: true });
    await proxy.start(proxyPort);
    const deferred = await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.twin_sync_deferred' && line.twinId === 'dev3', 30_000);
    assert.ok(Number(deferred.inMs) > 0 && Number(deferred.inMs) <= periodSec * 1000, `deferred by ${String(deferred.inMs)} ms`);
    const seenMs = await retryUntil('the missed change in the copy here at the end of the period', async () => ((await copy()).missed === true ? Date.now() : undefined), periodSec * 1000 + 30_000, 100);
    const due = hubs.child!.outpost.lines.find((line) => line.event === 'upstream.twin_sync_due' && line.twinId === 'dev3');
    assert.ok(due !== undefined, 'the deferred re-pull ran');
    assert.ok(seenMs >= Date.parse(String(due.time)), 'the missed change came with the deferred re-pull, not with the reconnect');
    assert.equal((await copy()).$version, missedVersion);
  });
});
