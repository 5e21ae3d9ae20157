/**
 * The auth chain and the device scope between two real Outposts (docs/upstream.md, "Which key
 * signs for whom" and "The device scope"): the child signs for the devices below it with its own
 * key (on behalf of, `com.microsoft:auth-chain`), the parent accepts that only for its own
 * descendants, and the child authenticates devices from the scope it fetched from the parent,
 * also while the parent is down.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import rhea, { type Connection, type ConnectionOptions, type EventContext, type Sender } from 'rhea';
import { identitiesFile } from '../../src/hub/auth/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import { sasLogin } from '../helpers/sas-hub.js';
import { CbsClient, sendSettled } from '../amqp/rhea-client.js';
import { sdkOnChild } from './relay-harness.js';
import { CHILD, HUB, PARENT, TwoHubs, type RunningHub } from './upstream-harness.js';

const require = createRequire(import.meta.url);
// `any`: the SDK is CommonJS without types for what these tests call.
const { Message } = require('azure-iot-device') as Record<string, any>;
const { SharedAccessSignature } = require('azure-iot-common') as { SharedAccessSignature: { create(sr: string, name: undefined, key: string, expiry: number): { toString(): string } } };

const OTHER_EDGE = 'other-edge';
const AUTH_CHAIN = 'com.microsoft:auth-chain';

/** A token signed with `key` for `{hub}/devices/{deviceId}[/modules/{moduleId}]`, as the SDKs sign one. */
function token(key: string, deviceId: string, moduleId?: string): string {
  const audience = moduleId === undefined ? `${HUB}/devices/${deviceId}` : `${HUB}/devices/${deviceId}/modules/${moduleId}`;
  return SharedAccessSignature.create(encodeURIComponent(audience), undefined, key, Math.floor(Date.now() / 1000) + 3600).toString();
}

function httpsPort(hub: RunningHub): string {
  return String((hub.ready.ports as { https: number }).https);
}

/** An MQTT device on the child; resolves with the client, or rejects with the CONNACK's refusal. */
async function deviceOnChild(hubs: TwoHubs, clients: mqtt.MqttClient[], deviceId: string, key: string): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtts://localhost:${hubs.child!.mqttPort}`, { ...sasLogin(HUB, key, deviceId), ca: hubs.child!.ca, reconnectPeriod: 0 });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('auth chain and device scope between two Outposts', () => {
  const site = (t: TestContext, childEnv: Record<string, string> = {}) => {
    const dir = tempDir('outpost-authchain-');
    const hubs = new TwoHubs(dir.path, childEnv);
    const clients: mqtt.MqttClient[] = [];
    t.after(async () => {
      for (const client of clients) client.end(true);
      await hubs.close();
      dir.remove();
    });
    return { hubs, clients };
  };

  it('authenticates a device from the scope fetched from the parent and sends for it with only the edge device\'s own key', async (t) => {
    // The child's environment object is read when the child starts: the parent's HTTPS port goes in once known.
    const childEnv: Record<string, string> = {};
    const { hubs, clients } = site(t, childEnv);
    const dev1 = hubs.parentRegistry.add({ deviceId: 'dev1', parentDeviceId: CHILD });
    const key = (dev1.authentication as { primaryKey: string }).primaryKey;
    const parent = await hubs.startParent();
    childEnv.OUTPOST_UPSTREAM__HTTPS_PORT = httpsPort(parent);
    await hubs.connectSink();
    const child = await hubs.startChild();
    // Nothing about dev1 was registered on the child: it comes from the parent's scope.
    await child.outpost.waitFor((line) => line.event === 'upstream.scope_synced' && Number(line.added) >= 1, 30_000);
    const device = await deviceOnChild(hubs, clients, 'dev1', key);
    for (let seq = 0; seq < 20; seq++) await TwoHubs.publish(device, 'devices/dev1/messages/events/', 'dev1', seq);
    await hubs.waitForAll('dev1', 20);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(20).keys()]);
    assert.ok(hubs.received.every((item) => item.cdid === 'dev1' && item.cmid === undefined));
    // The scope is kept in the child's registry file, readable by its owner only, and never logged.
    const file = identitiesFile(hubs.childDir);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8').includes(key));
    for (const hub of [child, parent]) assert.ok(!hub.outpost.rawLines.some((line) => line.includes(key)), 'no log line holds the key');
    assert.ok(parent.outpost.lines.some((line) => line.event === 'identity.scope_served' && line.identity === CHILD));
  });

  it('keeps authenticating the scope while the parent is down, and refuses a device removed from it after the next sync', async (t) => {
    const childEnv: Record<string, string> = { OUTPOST_UPSTREAM__SCOPE_REFRESH_INTERVAL: '1s' };
    const { hubs, clients } = site(t, childEnv);
    const keyOf = (deviceId: string) => (hubs.parentRegistry.add({ deviceId, parentDeviceId: CHILD }).authentication as { primaryKey: string }).primaryKey;
    const key1 = keyOf('dev1');
    const key2 = keyOf('dev2');
    const parent = await hubs.startParent();
    childEnv.OUTPOST_UPSTREAM__HTTPS_PORT = httpsPort(parent);
    const child = await hubs.startChild();
    await child.outpost.waitFor((line) => line.event === 'upstream.scope_synced' && Number(line.identities) === 2, 30_000);
    (await deviceOnChild(hubs, clients, 'dev2', key2)).end(true);
    // Removed on the parent: gone from the child's scope at the next sync, and refused there.
    hubs.parentRegistry.remove('dev2');
    await child.outpost.waitFor((line) => line.event === 'upstream.scope_synced' && Number(line.removed) === 1, 30_000);
    await assert.rejects(deviceOnChild(hubs, clients, 'dev2', key2), /Bad username or password|Not authorized/);
    // The parent killed: dev1 still connects to the child (the Azure IoT device SDK over AMQP, with
    // its key from the parent) and its message is taken (stored for later).
    await hubs.killParent();
    await child.outpost.waitFor((line) => line.event === 'upstream.disconnected', 30_000);
    hubs.childRegistry.refresh();
    assert.equal(hubs.childRegistry.get('dev1')?.source, 'upstream');
    assert.equal((hubs.childRegistry.get('dev1')?.authentication as { primaryKey: string }).primaryKey, key1);
    const opened: any[] = [];
    t.after(() => Promise.all(opened.map((client) => client.close().catch(() => undefined))));
    const sdk = await sdkOnChild(hubs, opened, 'dev1');
    await sdk.sendEvent(new Message(JSON.stringify({ seq: 0, source: 'dev1' })));
  });

  it('refuses a child that claims an identity of another edge device (not in its scope), with a stable code on both sides', async (t) => {
    const { hubs, clients } = site(t);
    hubs.parentRegistry.add({ deviceId: OTHER_EDGE, edge: true });
    const devX = hubs.parentRegistry.add({ deviceId: 'devX', parentDeviceId: OTHER_EDGE });
    // The child knows devX with the very keys the parent has: signing as devX itself would pass.
    const keys = devX.authentication as { type: 'sas'; primaryKey: string; secondaryKey: string };
    hubs.childRegistry.add({ deviceId: 'devX', authentication: keys });
    hubs.addChildIdentity('dev1');
    const parent = await hubs.startParent();
    await hubs.connectSink();
    const child = await hubs.startChild();
    const claimed = await deviceOnChild(hubs, clients, 'devX', keys.primaryKey);
    const own = await hubs.connectToChild('dev1');
    await TwoHubs.publish(claimed, 'devices/devX/messages/events/', 'devX', 0);
    await TwoHubs.publish(own, 'devices/dev1/messages/events/', 'dev1', 0);
    const refused = await parent.outpost.waitFor((line) => line.event === 'amqp.auth_failed' && line.identity === 'devX', 30_000);
    assert.equal(refused.code, 'OUTPOST_AUTH_NOT_IN_SCOPE');
    const told = await child.outpost.waitFor((line) => line.event === 'upstream.token_refused' && line.identity === 'devX', 30_000);
    assert.equal(told.status, 401);
    // The child's own descendant goes through on the same connection; devX's message never arrives.
    await hubs.waitForAll('dev1', 1);
    assert.ok(!hubs.received.some((item) => item.source === 'devX'));
  });

  it('accepts an on-behalf-of put-token only from an ancestor edge device below it, and checks the link\'s auth-chain', async (t) => {
    const { hubs } = site(t);
    hubs.parentRegistry.add({ deviceId: OTHER_EDGE, edge: true });
    hubs.parentRegistry.add({ deviceId: 'grandchild-edge', edge: true, parentDeviceId: CHILD });
    hubs.parentRegistry.add({ deviceId: 'dev1', parentDeviceId: CHILD });
    hubs.parentRegistry.add({ deviceId: 'dev2', parentDeviceId: 'grandchild-edge' });
    hubs.parentRegistry.add({ deviceId: 'devX', parentDeviceId: OTHER_EDGE });
    hubs.parentRegistry.add({ deviceId: 'leaf', parentDeviceId: CHILD });
    const parent = await hubs.startParent();
    const connection = await connect(parent);
    t.after(() => connection.close());
    const cbs = await CbsClient.open(connection);
    const childKey = hubs.key(hubs.parentRegistry, CHILD);
    const name = (deviceId: string, moduleId?: string) => (moduleId === undefined ? `${HUB}/devices/${deviceId}` : `${HUB}/devices/${deviceId}/modules/${moduleId}`);
    // The child acts for its child, its grandchild's device, and a module of its own.
    assert.equal((await cbs.putToken(name('dev1'), token(childKey, CHILD))).code, 200);
    assert.equal((await cbs.putToken(name('dev2'), token(childKey, CHILD))).code, 200);
    assert.equal((await cbs.putToken(name(CHILD, 'mod9'), token(childKey, CHILD))).code, 200);
    // Not for another edge device's device, an unknown device, this parent itself, or its parent.
    assert.equal((await cbs.putToken(name('devX'), token(childKey, CHILD))).code, 401);
    assert.equal((await cbs.putToken(name('nobody'), token(childKey, CHILD))).code, 401);
    assert.equal((await cbs.putToken(name(PARENT, 'sink'), token(childKey, CHILD))).code, 401);
    // A leaf device acts for no one, and a wrong key of the right edge device does not verify.
    assert.equal((await cbs.putToken(name('dev1'), token(hubs.key(hubs.parentRegistry, 'leaf'), 'leaf'))).code, 401);
    assert.equal((await cbs.putToken(name('dev1'), token(hubs.key(hubs.parentRegistry, OTHER_EDGE), CHILD))).code, 401);
    const notInScope = parent.outpost.lines.filter((line) => line.event === 'amqp.auth_failed' && line.code === 'OUTPOST_AUTH_NOT_IN_SCOPE').map((line) => line.identity);
    assert.ok(notInScope.includes('devX') && notInScope.includes('nobody'), JSON.stringify(notInScope));
    // The link's auth-chain must follow dev1's chain here and end with the edge device that signed.
    const good = await attach(connection, '/devices/dev1/messages/events', `dev1;${CHILD}`);
    assert.equal(await sendSettled(good, { body: 'hello' }), 'accepted');
    await assert.rejects(attach(connection, '/devices/dev1/messages/events', `dev1;${OTHER_EDGE}`), /amqp:unauthorized-access/);
    await assert.rejects(attach(connection, '/devices/dev2/messages/events', `dev2;${CHILD}`), /amqp:unauthorized-access/);
    assert.ok(await attach(connection, '/devices/dev2/messages/events', `dev2;grandchild-edge;${CHILD}`));
    assert.ok(parent.outpost.lines.some((line) => line.event === 'amqp.link_refused' && line.code === 'OUTPOST_AUTH_CHAIN_INVALID'));
  });
});

async function connect(hub: RunningHub): Promise<Connection> {
  const connection = rhea.create_container().connect({ host: 'localhost', port: hub.amqpPort, transport: 'tls', ca: hub.ca, servername: 'localhost', reconnect: false } as ConnectionOptions);
  connection.on('error', () => undefined);
  connection.on('disconnected', () => undefined);
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_open', () => resolve());
    connection.once('connection_error', (context: EventContext) => reject(context.connection.error ?? new Error('refused')));
  });
  return connection;
}

/** A sending link with the auth-chain link property; resolves once it has credit, rejects with the detach condition. */
function attach(connection: Connection, address: string, chain: string): Promise<Sender> {
  const sender = connection.open_sender({ target: { address }, properties: { [AUTH_CHAIN]: chain } });
  return new Promise((resolve, reject) => {
    sender.once('sendable', () => resolve(sender));
    sender.once('sender_close', () => reject(new Error(`detached: ${(sender.error as { condition?: string } | undefined)?.condition ?? '(no error)'}`)));
  });
}
