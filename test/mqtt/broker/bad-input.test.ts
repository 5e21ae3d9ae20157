import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../helpers/eventually.js';
import { rawClient, startTestBroker, type TestBroker } from '../broker-harness.js';
import { connectClient } from '../mqtt-clients.js';

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker({ limits: { maxPacketBytes: 4096 } });
});
after(() => broker.stop());

const gen = (packet: Parameters<typeof mqttPacket.generate>[0], protocolVersion = 4) => mqttPacket.generate(packet, { protocolVersion });
const connect = (protocolVersion: 4 | 5, clientId: string) => gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean: true, keepalive: 60 }, protocolVersion);

/** Sends bytes on a fresh connection and returns what the broker answered before closing. */
async function exchange(...frames: Buffer[]): Promise<Buffer> {
  const client = await rawClient(broker.port);
  for (const frame of frames) client.socket.write(frame);
  await Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('broker did not close the connection')), 5_000))]);
  return client.received();
}

/** Parses the packets a broker sent back. */
function packetsIn(bytes: Buffer, protocolVersion = 4): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion });
  const out: mqttPacket.Packet[] = [];
  parser.on('packet', (p: mqttPacket.Packet) => out.push(p));
  parser.parse(bytes);
  return out;
}

describe('bad input closes only the offending connection', () => {
  it('first packet not CONNECT', async () => {
    const answer = await exchange(Buffer.from([0xc0, 0x00]));
    assert.equal(answer.length, 0);
  });

  it('unsupported protocol level gets CONNACK 0x01 (3.1.1) and a close', async () => {
    const bytes = connect(4, 'x');
    const levelAt = 2 + 2 + 4;
    bytes[levelAt] = 6;
    const answer = await exchange(bytes);
    assert.deepEqual([...answer], [0x20, 0x02, 0x00, 0x01]);
  });

  it('malformed remaining length (5 bytes)', async () => {
    const answer = await exchange(connect(4, 'rl'), Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.equal(packetsIn(answer)[0]?.cmd, 'connack');
  });

  it('an oversized packet is refused from its header with 0x95 (MQTT 5), before the body arrives', async () => {
    const header = Buffer.from([0x30, 0x80, 0x80, 0x04]); // PUBLISH, remaining length 65536
    const answer = await exchange(connect(5, 'big'), header);
    const packets = packetsIn(answer, 5);
    assert.equal(packets[0]?.cmd, 'connack');
    assert.equal(packets[1]?.cmd, 'disconnect');
    assert.equal((packets[1] as mqttPacket.IDisconnectPacket).reasonCode, 0x95);
  });

  it('a wildcard in a PUBLISH topic gets 0x90 (MQTT 5)', async () => {
    const answer = await exchange(connect(5, 'wild'), gen({ cmd: 'publish', topic: 'a/+/b', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, 5));
    const packets = packetsIn(answer, 5);
    assert.equal((packets[1] as mqttPacket.IDisconnectPacket).reasonCode, 0x90);
  });

  it('ill-formed UTF-8 in a topic', async () => {
    const publish = gen({ cmd: 'publish', topic: 'ab', payload: Buffer.from('x'), qos: 0, dup: false, retain: false });
    const at = publish.indexOf(Buffer.from('ab'));
    publish[at] = 0xc3; // a lead byte followed by an ASCII byte
    const answer = await exchange(connect(4, 'utf'), publish);
    assert.deepEqual(packetsIn(answer).map((p) => p.cmd), ['connack']);
  });

  it('wrong reserved flags on SUBSCRIBE', async () => {
    const subscribe = gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    subscribe[0] = 0x80; // flags must be 0b0010 (MQTT-3.8.1-1)
    const answer = await exchange(connect(4, 'flags'), subscribe);
    assert.deepEqual(packetsIn(answer).map((p) => p.cmd), ['connack']);
  });

  it('a second CONNECT', async () => {
    const answer = await exchange(connect(4, 'twice'), connect(4, 'twice'));
    assert.deepEqual(packetsIn(answer).map((p) => p.cmd), ['connack']);
  });

  it('a truncated packet followed by a close leaves nothing behind', async () => {
    const client = await rawClient(broker.port);
    client.socket.write(connect(4, 'trunc'));
    // The session exists once the CONNACK is back; then half a PUBLISH, then the close.
    await eventually(() => (packetsIn(client.received())[0]?.cmd === 'connack' ? true : undefined), 5_000, 'the CONNACK');
    assert.ok(broker.broker.session('trunc') !== undefined);
    client.socket.write(gen({ cmd: 'publish', topic: 'trunc', payload: Buffer.alloc(100), qos: 0, dup: false, retain: false }).subarray(0, 20));
    client.socket.destroy();
    await client.closed;
    // No clean session, no connection, no half packet left holding either.
    let state = '';
    await eventually(() => {
      state = `session ${broker.broker.session('trunc') === undefined ? 'gone' : 'kept'}, connections ${broker.adapter.connectionCount}`;
      return broker.broker.session('trunc') === undefined && broker.adapter.connectionCount === 0 ? true : undefined;
    }, 5_000, 'the session and connection to go').catch((error: Error) => assert.fail(`${error.message}: ${state}`));
  });

  it('an invalid SUBSCRIBE filter is refused alone (SUBACK failure) and the connection stays', async () => {
    const client = await rawClient(broker.port);
    client.socket.write(connect(4, 'badfilter'));
    client.socket.write(gen({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'ok/+', qos: 1 }, { topic: 'bad/#/x', qos: 1 }] }));
    client.socket.write(gen({ cmd: 'pingreq' }));
    const deadline = Date.now() + 5_000;
    while (!packetsIn(client.received()).some((p) => p.cmd === 'pingresp')) {
      if (Date.now() > deadline) assert.fail('no PINGRESP: the connection did not survive');
      await new Promise((resolve) => client.socket.once('data', resolve));
    }
    const suback = packetsIn(client.received()).find((p) => p.cmd === 'suback') as mqttPacket.ISubackPacket;
    assert.deepEqual(suback.granted, [1, 0x80]);
    client.socket.destroy();
  });

  it('a PUBLISH whose property runs past the packet gets 0x81, and nothing is stored or delivered', async () => {
    const sub3 = await connectClient(broker.url, { protocolVersion: 4 });
    await sub3.client.subscribeAsync('props/#', { qos: 1 });
    const sub5 = await connectClient(broker.url, { protocolVersion: 5 });
    await sub5.client.subscribeAsync('props/#', { qos: 1 });
    // Each claim is one mqtt-packet alone accepts: the user property's name runs past the packet
    // (its value reads as null), the others run from their section into the payload.
    for (const [name, properties, claim] of [
      ['user', { userProperties: { MARKER: 'v' } }, 20],
      ['response', { responseTopic: 'MARKER' }, 10],
      ['correlation', { correlationData: Buffer.from('MARKER') }, 10],
      ['content', { contentType: 'MARKER' }, 10],
    ] as const) {
      const publish = gen({ cmd: 'publish', topic: `props/${name}`, payload: Buffer.from('payload bytes'), qos: 1, messageId: 1, dup: false, retain: true, properties }, 5);
      publish.writeUInt16BE(claim, publish.indexOf('MARKER') - 2);
      assert.equal(packetsIn(publish, 5).length, 1, `${name}: mqtt-packet alone no longer accepts it; the test lost its point`);
      const packets = packetsIn(await exchange(connect(5, `props-${name}`), publish), 5);
      assert.deepEqual(packets.map((p) => p.cmd), ['connack', 'disconnect'], name);
      assert.equal((packets[1] as mqttPacket.IDisconnectPacket).reasonCode, 0x81, name);
    }
    // A marker message after them: whatever the bad ones had reached would have arrived first.
    const pub = await connectClient(broker.url, { protocolVersion: 5 });
    await pub.client.publishAsync('props/after', 'ok', { qos: 1 });
    assert.deepEqual((await sub3.waitFor(1)).map((m) => m.topic), ['props/after']);
    assert.deepEqual((await sub5.waitFor(1)).map((m) => m.topic), ['props/after']);
    const late = await connectClient(broker.url, { protocolVersion: 5 });
    await late.client.subscribeAsync(['props/#', 'after/props'], { qos: 1 });
    await pub.client.publishAsync('after/props', 'marker', { qos: 1, retain: false });
    assert.deepEqual((await late.waitFor(1)).map((m) => m.topic), ['after/props'], 'no retained message was stored');
    await Promise.all([sub3.end(), sub5.end(), pub.end(), late.end()]);
  });

  it('keeps serving well-behaved clients throughout', async () => {
    const sub = await connectClient(broker.url);
    await sub.client.subscribeAsync('still/alive', { qos: 1 });
    const pub = await connectClient(broker.url);
    await pub.client.publishAsync('still/alive', 'yes', { qos: 1 });
    assert.equal((await sub.waitFor(1))[0]!.payload, 'yes');
    await Promise.all([sub.end(), pub.end()]);
  });
});
