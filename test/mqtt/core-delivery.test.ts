/**
 * Module-input delivery through the hub core over MQTT (issue 16): the store's endpoint target
 * finds the module's ClientLink and the connection's outbound writer sends the QoS 1 PUBLISH with
 * packet ids and a window of its own, never through the broker session. The writer's ids never
 * collide with the session's, and a client's Receive Maximum holds over both together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IConnackPacket, IPublishPacket, ISubackPacket } from 'mqtt-packet';
import { LAST_SESSION_PACKET_ID, Session, type SessionLink } from '../../src/hub/broker/index.js';
import type { DeliveryOutcome } from '../../src/hub/endpoints/index.js';
import { until } from '../helpers/eventually.js';
import { EDGE, startCoreHub, type CoreHub } from './core-harness.js';
import { RawMqttClient } from './raw-mqtt-client.js';

/**
 * A module on a raw MQTT connection (PUBACKs sent only when the test says: mqtt.js handles
 * incoming packets one at a time and would stall behind a held acknowledgement).
 */
interface RawModule {
  readonly raw: RawMqttClient;
  /** Incoming QoS 1 PUBLISHes, in order. */
  publishes(): IPublishPacket[];
  /** PUBACKs for the first `count` PUBLISHes not yet acknowledged. */
  ack(count?: number): void;
}

let hub: CoreHub;
const open: { end(): unknown }[] = [];

before(async () => {
  hub = await startCoreHub({ maxInflight: 64 });
});
after(async () => {
  for (const client of open) await client.end();
  await hub.stop();
});

async function rawModule(moduleId: string, options: { protocolVersion?: 4 | 5; receiveMaximum?: number; clean?: boolean; subscribe?: string[] } = {}): Promise<RawModule> {
  const protocolVersion = options.protocolVersion ?? 4;
  const raw = await RawMqttClient.open(hub.port, protocolVersion);
  open.push(raw);
  const login = hub.moduleLogin(moduleId);
  raw.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clean: options.clean ?? true,
    keepalive: 0,
    clientId: login.clientId,
    username: login.username,
    password: Buffer.from(login.password),
    ...(options.receiveMaximum === undefined ? {} : { properties: { receiveMaximum: options.receiveMaximum } }),
  });
  const connack = await raw.next((p): p is IConnackPacket => p.cmd === 'connack');
  assert.equal(connack.returnCode ?? connack.reasonCode ?? 0, 0, `CONNACK of ${moduleId}`);
  const filters = options.subscribe ?? [`devices/${EDGE}/modules/${moduleId}/inputs/#`];
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) });
  await raw.next((p): p is ISubackPacket => p.cmd === 'suback');
  let acked = 0;
  const publishes = () => raw.packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
  return {
    raw,
    publishes,
    ack(count = publishes().length - acked) {
      for (const packet of publishes().slice(acked, acked + count)) raw.send({ cmd: 'puback', messageId: packet.messageId! });
      acked += count;
    },
  };
}

describe('module inputs through the hub core', () => {
  it('delivers with packet ids of its own range and leaves the broker session untouched', async () => {
    const sink = await rawModule('sink');
    const session = hub.broker.session(`${EDGE}/sink`)!;
    const deliveredBefore = hub.broker.counters.delivered;
    const outcomes: DeliveryOutcome[] = [];
    for (let n = 0; n < 3; n++) assert.equal(hub.deliver('sink', 'in', `m${n}`, (outcome) => outcomes.push(outcome)), true);
    const packets = await sink.raw.count('publish', 3);
    assert.deepEqual(packets.map((p) => p.topic), [0, 1, 2].map(() => `devices/${EDGE}/modules/sink/inputs/in/`));
    assert.deepEqual(packets.map((p) => p.payload.toString()), ['m0', 'm1', 'm2']);
    assert.deepEqual(packets.map((p) => p.qos), [1, 1, 1]);
    for (const packet of packets) assert.ok(packet.messageId! > LAST_SESSION_PACKET_ID, `packet id ${packet.messageId} is in the core's range`);
    // In flight and unacknowledged, yet nothing of it is in the session.
    assert.equal(session.inflightCount, 0);
    assert.equal(session.queuedCount, 0);
    assert.equal(hub.broker.counters.delivered, deliveredBefore);
    assert.deepEqual(outcomes, []);
    sink.ack();
    await until(() => outcomes.length === 3, 5_000, 'three PUBACKs settled');
    assert.deepEqual(outcomes, ['acked', 'acked', 'acked']);
  });

  it('answers false when the window is full (nothing queued anywhere) and reports lost what is in flight at close', async () => {
    // A clean MQTT 5 session with Receive Maximum 2.
    const narrow = await rawModule('narrow', { protocolVersion: 5, receiveMaximum: 2 });
    const session = hub.broker.session(`${EDGE}/narrow`)!;
    const outcomes: DeliveryOutcome[] = [];
    const settle = (outcome: DeliveryOutcome) => outcomes.push(outcome);
    assert.equal(hub.deliver('narrow', 'in', 'a', settle), true);
    assert.equal(hub.deliver('narrow', 'in', 'b', settle), true);
    assert.equal(hub.deliver('narrow', 'in', 'c', settle), false, 'the window of 2 is full: the caller keeps the message');
    assert.equal(session.queuedCount + session.inflightCount, 0, 'the session holds none of them');
    await narrow.raw.count('publish', 2);
    narrow.ack(1);
    await until(() => outcomes.length === 1, 5_000, 'one PUBACK');
    assert.equal(hub.deliver('narrow', 'in', 'c', settle), true, 'room again after a PUBACK');
    const packets = await narrow.raw.count('publish', 3);
    assert.deepEqual(packets.map((p) => p.payload.toString()), ['a', 'b', 'c']);
    const gone = new Promise<void>((resolve) => hub.clients.onRemoved((link) => link.identity === `${EDGE}/narrow` && resolve()));
    narrow.raw.end();
    await gone;
    await until(() => outcomes.length === 3, 5_000, 'the two in flight settled');
    assert.deepEqual(outcomes, ['acked', 'lost', 'lost']);
    assert.equal(hub.deliver('narrow', 'in', 'd', settle), false, 'no link: not connected');
  });

  it("keeps the session and the core apart in packet ids, and holds the client's Receive Maximum over both", async () => {
    const both = await rawModule('both', { protocolVersion: 5, receiveMaximum: 4, subscribe: [`devices/${EDGE}/modules/both/inputs/#`, 'general/#'] });
    const session = hub.broker.session(`${EDGE}/both`)!;
    const publisher = await hub.connectDevice('publisher');
    open.push({ end: () => publisher.end(true) });
    const outcomes: DeliveryOutcome[] = [];
    assert.equal(hub.deliver('both', 'in', 'core-1', (o) => outcomes.push(o)), true);
    assert.equal(hub.deliver('both', 'in', 'core-2', (o) => outcomes.push(o)), true);
    await both.raw.count('publish', 2);
    for (let n = 1; n <= 4; n++) await publisher.client.publishAsync('general/t', `general-${n}`, { qos: 1 });
    await both.raw.count('publish', 4);
    // Four in flight: the Receive Maximum. The session waits with two queued; the core may not send.
    await until(() => session.queuedCount === 2, 5_000, 'two general messages queued in the session');
    assert.equal(session.inflightCount, 2);
    assert.equal(hub.deliver('both', 'in', 'core-3', (o) => outcomes.push(o)), false, 'the Receive Maximum is spent');
    // A PUBACK of a core delivery makes room for the session's queue.
    both.ack(1);
    const fifth = await both.raw.count('publish', 5);
    assert.equal(fifth[4]!.payload.toString(), 'general-3');
    assert.equal(both.publishes().length, 5, 'still four in flight');
    both.ack();
    const all = await both.raw.count('publish', 6);
    both.ack();
    await until(() => outcomes.length === 2 && session.inflightCount === 0, 5_000, 'everything acknowledged');
    const ids = all.map((p) => p.messageId!);
    const core = all.filter((p) => p.topic.startsWith('devices/')).map((p) => p.messageId!);
    const general = all.filter((p) => p.topic.startsWith('general/')).map((p) => p.messageId!);
    assert.equal(new Set(ids).size, ids.length, `distinct packet ids: ${ids.join(',')}`);
    assert.equal(core.length, 2);
    for (const id of core) assert.ok(id > LAST_SESSION_PACKET_ID, `core id ${id}`);
    for (const id of general) assert.ok(id >= 1 && id <= LAST_SESSION_PACKET_ID, `session id ${id}`);
    assert.deepEqual(outcomes, ['acked', 'acked']);
  });

  it('delivers on the next connection what the last one did not acknowledge; a persistent session remembers the subscription', async () => {
    const first = await rawModule('durable', { clean: false });
    const outcomes: DeliveryOutcome[] = [];
    assert.equal(hub.deliver('durable', 'in', 'x', (o) => outcomes.push(o)), true);
    await first.raw.count('publish', 1);
    first.raw.end();
    await until(() => outcomes.length === 1, 5_000, 'settled at close');
    assert.deepEqual(outcomes, ['lost']);
    const session = hub.broker.session(`${EDGE}/durable`)!;
    assert.equal(session.queuedCount + session.inflightCount, 0, 'the session kept nothing of it');
    // The Azure SDK does not subscribe again: the persistent session remembers the inputs subscription.
    const second = await hub.connectModule('durable', { clean: false });
    open.push({ end: () => second.end(true) });
    await until(() => hub.deliver('durable', 'in', 'x', (o) => outcomes.push(o)), 5_000, 'the link of the resumed session');
    const [received] = await second.waitFor(1);
    assert.equal(received!.payload, 'x');
    await until(() => outcomes.length === 2, 5_000, 'acknowledged');
    assert.equal(outcomes[1], 'acked');
  });
});

describe('packet ids of a broker session', () => {
  it('stay in the session range with the whole range in flight, leaving the rest to the connection', () => {
    const sent: number[] = [];
    const link: SessionLink = {
      protocolVersion: 4,
      sendPublish: (_message, _qos, packetId) => sent.push(packetId ?? 0) > 0,
      sendPubrel: () => undefined,
      isCongested: () => false,
    };
    const session = new Session('c', 0, { maxInflight: LAST_SESSION_PACKET_ID, maxQueued: 10 }, { dropped: () => undefined, acknowledged: () => undefined, queued: () => undefined });
    session.attach(link, undefined);
    const message = { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, properties: undefined, expiresAtMs: undefined, senderClientId: '' } as const;
    // The whole range in flight at once: every id from 1 to the last, each once.
    for (let n = 0; n < LAST_SESSION_PACKET_ID; n++) session.deliver({ message, qos: 1, retain: false, subscriptionIds: [], seq: 0 });
    assert.equal(new Set(sent).size, LAST_SESSION_PACKET_ID);
    assert.equal(Math.min(...sent), 1);
    assert.equal(Math.max(...sent), LAST_SESSION_PACKET_ID);
    // Ten acknowledged, ten more: they get the freed ids, never one past the range.
    for (let id = 1; id <= 10; id++) assert.ok(session.complete(id));
    for (let n = 0; n < 10; n++) session.deliver({ message, qos: 1, retain: false, subscriptionIds: [], seq: 0 });
    assert.deepEqual(sent.slice(LAST_SESSION_PACKET_ID).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
