import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { IPublishPacket, ISubackPacket, Packet } from 'mqtt-packet';
import { OutboundTopicAliases } from '../../../src/hub/transport/mqtt/outbound-topic-aliases.js';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient, type TestClient } from '../mqtt-clients.js';
import { RawMqttClient } from '../raw-mqtt-client.js';

const run = promisify(execFile);
let broker: TestBroker;
let publisher: TestClient;
const clients: RawMqttClient[] = [];
before(async () => {
  broker = await startTestBroker();
  publisher = await connectClient(broker.url, { protocolVersion: 5 });
});
after(async () => {
  for (const client of clients) client.end();
  await publisher.end();
  await broker.stop();
});

const isSuback = (p: Packet): p is ISubackPacket => p.cmd === 'suback';

/** An MQTT 5 subscriber on raw bytes: what it receives is exactly what the hub put on the wire. */
async function rawSubscriber(clientId: string, filter: string, connectProperties: { topicAliasMaximum?: number; maximumPacketSize?: number }): Promise<RawMqttClient> {
  const client = await RawMqttClient.open(broker.port, 5);
  clients.push(client);
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: true, keepalive: 60, properties: connectProperties });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
  await client.next(isSuback);
  return client;
}

/** Publishes in order, each acknowledged before the next. */
async function publishAll(topics: string[], qos: 0 | 1 = 1): Promise<void> {
  for (const [i, topic] of topics.entries()) await publisher.client.publishAsync(topic, `m${i}`, { qos });
}

/** What the hub sent, as [topic on the wire, alias, payload]. */
const onWire = (packets: IPublishPacket[]) => packets.map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()]);

/** What the Paho interoperability suite's test_server_topic_alias does, with Debian's paho. */
const PAHO_ALIAS = `
import json, sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
port, maximum, topic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
got, done, subscribed = [], threading.Event(), threading.Event()
def on_message(c, u, m):
    got.append([m.topic, m.payload.decode(), m.qos, getattr(m.properties, 'TopicAlias', None)])
    if len(got) == 3: done.set()
c = mqtt.Client(client_id='paho-alias-' + str(maximum), protocol=mqtt.MQTTv5)
c.on_message = on_message
c.on_subscribe = lambda *a: subscribed.set()
props = Properties(PacketTypes.CONNECT)
if maximum >= 0: props.TopicAliasMaximum = maximum
c.connect('127.0.0.1', port, properties=props)
c.loop_start()
c.subscribe(topic, qos=2)
subscribed.wait(5)
for qos in range(3): c.publish(topic, 'topic alias 1', qos)
done.wait(5)
c.disconnect(); c.loop_stop()
print(json.dumps(got))
`;

describe('topic aliases on PUBLISHes from the hub (MQTT 5 section 3.3.2.3.4)', () => {
  it('Python paho announcing Topic Alias Maximum 1 gets the topic and alias first, then an empty topic and the same alias (the Paho suite\'s test_server_topic_alias)', async () => {
    const { stdout } = await run('/usr/bin/python3', ['-c', PAHO_ALIAS, String(broker.port), '1', 'paho/alias/TopicA'], { timeout: 20_000 });
    // Debian's paho 1.6 does not resolve aliases: it shows the topic as it came on the wire.
    assert.deepEqual(JSON.parse(stdout), [
      ['paho/alias/TopicA', 'topic alias 1', 0, 1],
      ['', 'topic alias 1', 1, 1],
      ['', 'topic alias 1', 2, 1],
    ]);
  });

  for (const maximum of [-1, 0]) {
    it(`Python paho ${maximum < 0 ? 'not announcing a Topic Alias Maximum' : 'announcing Topic Alias Maximum 0'} gets no aliases`, async () => {
      const { stdout } = await run('/usr/bin/python3', ['-c', PAHO_ALIAS, String(broker.port), String(maximum), `paho/noalias${maximum}`], { timeout: 20_000 });
      assert.deepEqual(JSON.parse(stdout), [0, 1, 2].map((qos) => [`paho/noalias${maximum}`, 'topic alias 1', qos, null]));
    });
  }

  it('on the wire: a known topic goes out empty with its alias; past the maximum the least recently used alias is rebound with the full topic', async () => {
    const sub = await rawSubscriber('wire-lru', 'lru/#', { topicAliasMaximum: 2 });
    await publishAll(['lru/a', 'lru/a', 'lru/b', 'lru/a', 'lru/c', 'lru/b', 'lru/c']);
    const got = await sub.count('publish', 7);
    assert.deepEqual(onWire(got), [
      ['lru/a', 1, 'm0'],
      ['', 1, 'm1'],
      ['lru/b', 2, 'm2'],
      ['', 1, 'm3'],
      // a was used last, b before it: b's alias goes to c.
      ['lru/c', 2, 'm4'],
      ['lru/b', 1, 'm5'],
      ['', 2, 'm6'],
    ]);
  });

  it('an mqtt.js subscriber announcing a Topic Alias Maximum gets every message on its topic, aliases resolved by the client', async () => {
    const sub = await connectClient(broker.url, { protocolVersion: 5, properties: { topicAliasMaximum: 1 } });
    await sub.client.subscribeAsync('mqttjs/alias/+', { qos: 1 });
    await publishAll(['mqttjs/alias/x', 'mqttjs/alias/x', 'mqttjs/alias/y', 'mqttjs/alias/x']);
    const got = await sub.waitFor(4);
    assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['mqttjs/alias/x', 'm0'], ['mqttjs/alias/x', 'm1'], ['mqttjs/alias/y', 'm2'], ['mqttjs/alias/x', 'm3']]);
    assert.deepEqual(got.map((m) => m.packet.properties?.topicAlias), [1, 1, 1, 1]);
    await sub.end();
  });

  it('an alias bound by a message too large for the client is not used: the next message on that topic carries the full topic again', async () => {
    const sub = await rawSubscriber('wire-too-large', 'big/#', { topicAliasMaximum: 4, maximumPacketSize: 64 });
    await publisher.client.publishAsync('big/t', Buffer.alloc(100, 0x61), { qos: 1 });
    await publishAll(['big/t', 'big/t']);
    const got = await sub.count('publish', 2);
    assert.deepEqual(onWire(got), [['big/t', 1, 'm0'], ['', 1, 'm1']]);
  });

  it('aliases are per connection: the same client connecting again starts with the full topic', async () => {
    const first = await rawSubscriber('wire-resume', 'resume/#', { topicAliasMaximum: 2 });
    await publishAll(['resume/t', 'resume/t']);
    assert.deepEqual(onWire(await first.count('publish', 2)), [['resume/t', 1, 'm0'], ['', 1, 'm1']]);
    first.end();
    await first.closed;
    const second = await rawSubscriber('wire-resume', 'resume/#', { topicAliasMaximum: 2 });
    await publishAll(['resume/t']);
    assert.deepEqual(onWire(await second.count('publish', 1)), [['resume/t', 1, 'm0']]);
  });

  it('the hub bounds the aliases by mqtt.topicAliasMaximum too (0 turns them off)', async () => {
    const capped = await startTestBroker({ limits: { topicAliasMaximum: 0 } });
    try {
      const sub = await RawMqttClient.open(capped.port, 5);
      clients.push(sub);
      sub.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'capped', clean: true, keepalive: 60, properties: { topicAliasMaximum: 10 } });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cap/#', qos: 1 }] });
      await sub.next(isSuback);
      const pub = await connectClient(capped.url, { protocolVersion: 5 });
      await pub.client.publishAsync('cap/t', 'm0', { qos: 1 });
      await pub.client.publishAsync('cap/t', 'm1', { qos: 1 });
      await pub.end();
      assert.deepEqual(onWire(await sub.count('publish', 2)), [['cap/t', undefined, 'm0'], ['cap/t', undefined, 'm1']]);
    } finally {
      await capped.stop();
    }
  });
});

describe('OutboundTopicAliases', () => {
  it('binds up to its maximum, reuses the least recently used alias, and frees a forgotten one first', () => {
    const aliases = new OutboundTopicAliases(2);
    assert.equal(aliases.aliasFor('a'), -1);
    assert.equal(aliases.aliasFor('b'), -2);
    assert.equal(aliases.aliasFor('a'), 1);
    assert.equal(aliases.aliasFor('c'), -2, 'b was least recently used');
    assert.equal(aliases.size, 2);
    aliases.forget(2);
    assert.equal(aliases.size, 1);
    assert.equal(aliases.aliasFor('d'), -2, 'the forgotten alias is bound again, with the full topic');
    assert.equal(aliases.aliasFor('d'), 2);
    assert.equal(aliases.aliasFor('a'), 1);
  });
});
