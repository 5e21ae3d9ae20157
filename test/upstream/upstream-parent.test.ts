/**
 * The upstream link between two real Outposts on loopback (docs/upstream.md): a child's
 * `$upstream` reaches its parent over AMQP with each sender's identity, in order per source, and
 * survives the parent being killed, stopped for a while, and refusing a token.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import { CHILD, TwoHubs } from './upstream-harness.js';

const DEVICE_TOPIC = 'devices/dev1/messages/events/';
const MODULE_TOPIC = `devices/${CHILD}/modules/mod1/messages/events/`;

describe('upstream link to a parent Outpost', () => {
  // Each test stops its own hubs as it ends (pass or fail), so a run cut short leaves at most one pair behind.
  const site = (t: TestContext, env: Record<string, string> = {}, parentEnv: Record<string, string> = {}) => {
    const dir = tempDir('outpost-upstream-');
    const hubs = new TwoHubs(dir.path, env, parentEnv);
    t.after(async () => {
      await hubs.close();
      dir.remove();
    });
    return hubs;
  };

  it('delivers a device\'s telemetry and a module\'s output at the parent, in order, as their own identities', async (t) => {
    const hubs = site(t);
    hubs.addChildIdentity('dev1');
    hubs.addChildIdentity(CHILD, 'mod1');
    await hubs.startParent();
    await hubs.connectSink();
    await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    const module = await hubs.connectToChild(CHILD, 'mod1');
    const count = 150;
    await Promise.all([
      (async () => {
        for (let seq = 0; seq < count; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
      })(),
      (async () => {
        for (let seq = 0; seq < count; seq++) await TwoHubs.publish(module, MODULE_TOPIC, 'mod1', seq);
      })(),
    ]);
    await hubs.waitForAll('dev1', count);
    await hubs.waitForAll('mod1', count);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
    assert.deepEqual(hubs.firstArrivals('mod1'), [...Array(count).keys()]);
    for (const item of hubs.received) {
      if (item.source === 'dev1') assert.deepEqual([item.cdid, item.cmid], ['dev1', undefined]);
      else assert.deepEqual([item.cdid, item.cmid], [CHILD, 'mod1']);
    }
    // One connection for both identities.
    const connected = hubs.child!.outpost.lines.filter((line) => line.event === 'upstream.connected');
    assert.equal(connected.length, 1);
  });

  it('loses no acknowledged message and keeps the order when the parent is killed (-9) and restarted mid-stream', async (t) => {
    const hubs = site(t);
    hubs.addChildIdentity('dev1');
    const first = await hubs.startParent();
    await hubs.connectSink();
    await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    const count = 400;
    const killAt = 150;
    for (let seq = 0; seq < killAt; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    // Some of it has reached the parent: the kill lands mid-stream, with messages in flight.
    await hubs.waitForAll('dev1', 20);
    await hubs.killParent();
    for (let seq = killAt; seq < count; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    await hubs.startParent(first.amqpPort);
    await hubs.connectSink();
    await hubs.waitForAll('dev1', count, 90_000);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
    assert.ok(hubs.child!.outpost.lines.some((line) => line.event === 'upstream.disconnected' && line.code === 'OUTPOST_UPSTREAM_UNREACHABLE'));
  });

  it('starts draining within 2 s of an unreachable parent coming back, whatever the backoff reached', async (t) => {
    // reconnectMax at its default (60 s): after ~10 s away the next full attempt is several seconds off.
    const hubs = site(t);
    hubs.addChildIdentity('dev1');
    const first = await hubs.startParent();
    await hubs.connectSink();
    const child = await hubs.startChild();
    await child.outpost.waitFor((line) => line.event === 'upstream.connected');
    await hubs.killParent();
    const device = await hubs.connectToChild('dev1');
    const count = 100;
    for (let seq = 0; seq < count; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    // Away long enough for the backoff to pass 4 s (attempts at about 1, 3, 7 s, the next at 15 s).
    await child.outpost.waitFor((line) => line.event === 'upstream.connect_failed' && Number(line.retryInMs) >= 8_000, 60_000);
    const back = await hubs.startParent(first.amqpPort);
    const backAtMs = Date.parse(String(back.ready.time));
    await hubs.connectSink();
    await hubs.waitForAll('dev1', count);
    const firstAtMs = Math.min(...hubs.received.map((r) => r.atMs));
    t.diagnostic(`first message at the parent's sink ${firstAtMs - backAtMs} ms after the parent's hub.ready`);
    assert.ok(firstAtMs - backAtMs < 2_000, `draining started ${firstAtMs - backAtMs} ms after the parent was back`);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
    // Azure's offline metrics on the child: one outage, its duration observed once the link was back.
    const answer = await new HubControlClient(join(hubs.childDir, HUB_CONTROL_SOCKET)).call('GET', '/v1/metrics');
    const text = (answer.body as { text: string }).text;
    const series = (name: string) => {
      // Azure's common labels (iothub, edge_device, instance_number) come first.
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`id="${CHILD}/$edgeHub"}`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    assert.equal(series('edgehub_offline_count_total'), 1, 'one outage counted');
    assert.equal(series('edgehub_offline_duration_seconds_count'), 1, 'one outage observed');
    const seconds = series('edgehub_offline_duration_seconds_sum') ?? 0;
    assert.ok(seconds >= 5, `the outage (about 7 s: attempts at 1, 3 and 7 s failed) measured ${seconds} s`);
  });

  it('logs a refused token with its code, keeps the messages and sends them once the parent accepts the identity', async (t) => {
    const hubs = site(t, { OUTPOST_UPSTREAM__RECONNECT_MAX: '2s' });
    // dev1 is on the child but not (yet) on the parent: its token is refused.
    hubs.addChildIdentity('dev1', undefined, false);
    await hubs.startParent();
    await hubs.connectSink();
    const child = await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    const count = 30;
    for (let seq = 0; seq < count; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    const refused = await child.outpost.waitFor((line) => line.event === 'upstream.token_refused');
    assert.equal(refused.code, 'OUTPOST_UPSTREAM_TOKEN_REFUSED');
    assert.equal(refused.identity, 'dev1');
    assert.equal(refused.status, 401);
    // Retried: a second refusal, nothing delivered meanwhile.
    await child.outpost.waitFor((line) => line.event === 'upstream.token_refused' && line !== refused);
    assert.equal(hubs.received.length, 0);
    hubs.copyToParent('dev1');
    await hubs.waitForAll('dev1', count);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(count).keys()]);
  });

  it('keeps messages the parent rejects for now (its store is full) and sends them once it has room', async (t) => {
    const hubs = site(t, {}, { OUTPOST_STORE__MAX_SIZE: '64KiB' });
    hubs.addChildIdentity('dev1');
    await hubs.startParent();
    const child = await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    const count = 80;
    // 80 × 2 KiB with nobody reading the parent's sink input: its store fills and refuses.
    for (let seq = 0; seq < count; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq, 2048);
    const rejected = await child.outpost.waitFor((line) => line.event === 'upstream.message_rejected');
    assert.deepEqual([rejected.condition, rejected.transient], ['amqp:resource-limit-exceeded', true]);
    await hubs.connectSink();
    await hubs.waitForAll('dev1', count, 90_000);
    // All of them, each once. Not necessarily in order: a transfer rejected just before the parent
    // found room is sent again after those of the same identity already in flight were accepted
    // (docs/upstream.md, "Settlement").
    assert.deepEqual(hubs.firstArrivals('dev1').sort((a, b) => a - b), [...Array(count).keys()]);
  });
});
