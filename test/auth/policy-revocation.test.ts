/**
 * Replacing the broker policy while clients are connected (in-process broker, real SAS
 * authentication, real mqtt.js clients over TCP): each client loses exactly what the new policy
 * no longer allows and nothing else; an invalid policy changes nothing; sessions restored from
 * disk are held to the policy in force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { IDisconnectPacket } from 'mqtt';
import type { TestClient } from '../mqtt/mqtt-clients.js';
import { HUB } from './auth-test-helpers.js';
import { startPolicyBroker, type PolicyBroker } from './policy-broker.js';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-policy-'));
  dirs.push(dir);
  return dir;
};
const brokers: PolicyBroker[] = [];
after(async () => {
  for (const broker of brokers) await broker.stop().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const connectAll = { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] };
/** Everyone: plant/# and alerts/#. */
const WIDE = [connectAll, { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#', 'alerts/#'] }] }];
/** dev-c and dev-d may no longer connect; alerts/# only for dev-b and pub. */
const NARROW = [
  { identities: [`${HUB}/dev-c`, `${HUB}/dev-d`], deny: [{ operations: ['mqtt:connect'] }] },
  connectAll,
  { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['plant/#'] }] },
  { identities: [`${HUB}/dev-b`, `${HUB}/pub`], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['alerts/#'] }] },
];

async function start(policy: unknown, persistentDir?: string, dataDir = newDir()): Promise<PolicyBroker> {
  const broker = await startPolicyBroker({ dataDir, policy, ...(persistentDir === undefined ? {} : { persistentDir }) });
  brokers.push(broker);
  return broker;
}

async function subscribed(client: TestClient, filters: string[]): Promise<void> {
  const granted = await client.client.subscribeAsync(filters, { qos: 1 });
  assert.deepEqual(granted.map((g) => g.qos), filters.map(() => 1), `granted ${JSON.stringify(granted)}`);
}

const topics = (client: TestClient) => client.messages.map((m) => m.topic);

describe('replacing the broker policy with clients connected', () => {
  it('takes from each client exactly what the new policy no longer allows', async () => {
    const hub = await start(WIDE);
    const a = await hub.connect('dev-a', { protocolVersion: 5 });
    const b = await hub.connect('dev-b');
    const c = await hub.connect('dev-c', { protocolVersion: 5 });
    const d = await hub.connect('dev-d');
    const e = await hub.connect('dev-e', { clean: false });
    const pub = await hub.connect('pub');
    await subscribed(a, ['plant/#', 'alerts/#']);
    await subscribed(b, ['plant/#', 'alerts/#']);
    await subscribed(c, ['plant/#']);
    await subscribed(d, ['plant/#']);
    await subscribed(e, ['plant/#', 'alerts/#']);
    await pub.client.publishAsync('alerts/0', 'before', { qos: 1 });
    await Promise.all([a.waitFor(1), b.waitFor(1), e.waitFor(1)]);
    await e.end(); // a persistent session waiting for its client

    const disconnectOfC = new Promise<IDisconnectPacket>((resolve) => c.client.once('disconnect', resolve));
    const closed = [c, d].map((client) => new Promise<void>((resolve) => client.client.once('close', () => resolve())));
    const update = hub.policy.replace(NARROW, 'test', hub.adapter);

    assert.equal(update.kind, 'replaced');
    const revoked = update.kind === 'replaced' ? update.revoked : [];
    assert.deepEqual(
      revoked.map((r) => ({ clientId: r.clientId, connect: r.connect, subscriptions: [...r.subscriptions] })).sort((x, y) => x.clientId.localeCompare(y.clientId)),
      [
        { clientId: 'dev-a', connect: false, subscriptions: ['alerts/#'] },
        { clientId: 'dev-c', connect: true, subscriptions: [] },
        { clientId: 'dev-d', connect: true, subscriptions: [] },
        { clientId: 'dev-e', connect: false, subscriptions: ['alerts/#'] },
      ],
    );
    // MQTT 5 is told why (DISCONNECT 0x87 Not authorized); 3.1.1 has no server DISCONNECT.
    assert.equal((await disconnectOfC).reasonCode, 0x87);
    await Promise.all(closed);
    assert.ok(a.client.connected && b.client.connected && pub.client.connected, 'the others keep their connections');

    // alerts/1 then plant/2 from one publisher: whoever gets plant/2 would have had alerts/1 first.
    await pub.client.publishAsync('alerts/1', 'after', { qos: 1 });
    await pub.client.publishAsync('plant/2', 'after', { qos: 1 });
    await Promise.all([a.waitFor(2), b.waitFor(3)]);
    assert.deepEqual(topics(a), ['alerts/0', 'plant/2'], 'dev-a lost alerts/# only');
    assert.deepEqual(topics(b), ['alerts/0', 'alerts/1', 'plant/2'], 'dev-b lost nothing');
    const resumed = await hub.connect('dev-e', { clean: false });
    await resumed.waitFor(1);
    await pub.client.publishAsync('plant/3', 'sentinel', { qos: 1 });
    await resumed.waitFor(2);
    assert.deepEqual(topics(resumed), ['plant/2', 'plant/3'], 'the waiting session lost alerts/# only');

    await assert.rejects(hub.connect('dev-c', { protocolVersion: 5 }), (error: { code?: number }) => error.code === 0x87);
    await assert.rejects(hub.connect('dev-d'), (error: { code?: number }) => error.code === 5);
    const revokedLines = hub.lines.filter((l) => l.event === 'auth.policy_revoked').map((l) => l.clientId).sort();
    assert.deepEqual(revokedLines, ['dev-a', 'dev-c', 'dev-d', 'dev-e']);
    await Promise.all([a.end(), b.end(), resumed.end(), pub.end()]);
  });

  it('refuses an invalid policy with OUTPOST_AUTH_POLICY_INVALID and keeps enforcing the last good one', async () => {
    const hub = await start(NARROW);
    const a = await hub.connect('dev-a');
    const b = await hub.connect('dev-b');
    await subscribed(b, ['alerts/#']);
    const invalid = [connectAll, { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['alerts/#/x'] }] }];

    assert.deepEqual(hub.policy.replace(invalid, 'test', hub.adapter), { kind: 'rejected' });
    const line = hub.lines.find((l) => l.event === 'auth.policy_rejected');
    assert.equal(line?.code, 'OUTPOST_AUTH_POLICY_INVALID');
    assert.equal(line?.level, 'error');
    assert.deepEqual((line?.problems as { path: string }[]).map((p) => p.path), ['[1].allow[0].resources[0]']);
    assert.ok(a.client.connected && b.client.connected);
    // Still NARROW: dev-a may not subscribe to alerts/#, dev-b still gets alerts.
    await assert.rejects(a.client.subscribeAsync('alerts/#', { qos: 1 }), /Subscribe error/);
    await a.client.publishAsync('plant/x', 'allowed', { qos: 1 });
    const pub = await hub.connect('pub');
    await pub.client.publishAsync('alerts/x', 'allowed', { qos: 1 });
    assert.deepEqual((await b.waitFor(1)).map((m) => m.topic), ['alerts/x']);
    assert.equal(hub.lines.filter((l) => l.event === 'auth.policy_replaced').length, 0);
    await Promise.all([a.end(), b.end(), pub.end()]);
  });

  it('does nothing for the policy already in force', async () => {
    const hub = await start(WIDE);
    assert.deepEqual(hub.policy.replace(JSON.parse(JSON.stringify(WIDE)), 'test', hub.adapter), { kind: 'unchanged' });
  });

  it('holds sessions restored from disk to the policy in force at start', async () => {
    const dataDir = newDir();
    const store = newDir();
    const first = await start(WIDE, store, dataDir);
    const e = await first.connect('dev-e', { clean: false });
    await subscribed(e, ['plant/#', 'alerts/#']);
    await e.end();
    await first.stop();

    const second = await start(NARROW, store, dataDir);
    assert.deepEqual(
      second.lines.filter((l) => l.event === 'auth.policy_revoked').map((l) => [l.clientId, l.subscriptions]),
      [['dev-e', ['alerts/#']]],
    );
    const pub = await second.connect('pub');
    await pub.client.publishAsync('alerts/1', 'queued?', { qos: 1 });
    await pub.client.publishAsync('plant/1', 'queued', { qos: 1 });
    const resumed = await second.connect('dev-e', { clean: false });
    await resumed.waitFor(1);
    await pub.client.publishAsync('plant/2', 'sentinel', { qos: 1 });
    await resumed.waitFor(2);
    assert.deepEqual(topics(resumed), ['plant/1', 'plant/2']);
    await Promise.all([resumed.end(), pub.end()]);
  });
});
