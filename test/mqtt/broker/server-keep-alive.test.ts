import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import type { IConnackPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import { MAX_KEEP_ALIVE_SEC, negotiateKeepAlive } from '../../../src/hub/transport/mqtt/keep-alive.js';
import { ReasonCode } from '../../../src/hub/transport/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../broker-harness.js';
import { RawMqttClient } from '../raw-mqtt-client.js';

const run = promisify(execFile);
const brokers: TestBroker[] = [];
const clients: RawMqttClient[] = [];
after(async () => {
  for (const client of clients) client.end();
  await Promise.all(brokers.map((b) => b.stop()));
});

async function brokerWithCap(maxKeepAliveSec: number): Promise<TestBroker> {
  const broker = await startTestBroker({ limits: { maxKeepAliveSec } });
  brokers.push(broker);
  return broker;
}

const isConnack = (p: Packet): p is IConnackPacket => p.cmd === 'connack';
const isDisconnect = (p: Packet): p is IDisconnectPacket => p.cmd === 'disconnect';

/** Connects with the given keep-alive and returns the client and its CONNACK. */
async function rawConnect(port: number, protocolVersion: 4 | 5, clientId: string, keepalive: number): Promise<{ client: RawMqttClient; connack: IConnackPacket; sentAtMs: number }> {
  const client = await RawMqttClient.open(port, protocolVersion);
  clients.push(client);
  const sentAtMs = Date.now();
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean: true, keepalive });
  return { client, connack: await client.next(isConnack), sentAtMs };
}

/** What the Paho interoperability suite's test_server_keep_alive does, with Debian's paho. */
const PAHO_CONNECT = `
import json, sys, threading
import paho.mqtt.client as mqtt
port, version, keepalive = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
result, done = {}, threading.Event()
def on_connect(c, u, flags, rc, properties=None):
    result['rc'] = int(rc.value) if hasattr(rc, 'value') else rc
    result['serverKeepAlive'] = getattr(properties, 'ServerKeepAlive', None)
    done.set()
c = mqtt.Client(client_id='paho-ka-' + version, protocol=mqtt.MQTTv5 if version == '5' else mqtt.MQTTv311)
c.on_connect = on_connect
c.connect('127.0.0.1', port, keepalive=keepalive)
c.loop_start(); done.wait(5); c.disconnect(); c.loop_stop()
print(json.dumps(result))
`;

describe('Server Keep Alive (MQTT 5 section 3.2.2.3.14)', () => {
  it('Python paho asking for 120 s from a hub capped at 60 s is told 60 s in CONNACK (the Paho suite\'s test_server_keep_alive); 3.1.1 is not told', async () => {
    const broker = await brokerWithCap(60);
    const v5 = JSON.parse((await run('/usr/bin/python3', ['-c', PAHO_CONNECT, String(broker.port), '5', '120'], { timeout: 20_000 })).stdout);
    assert.deepEqual(v5, { rc: 0, serverKeepAlive: 60 });
    const within = JSON.parse((await run('/usr/bin/python3', ['-c', PAHO_CONNECT, String(broker.port), '5', '30'], { timeout: 20_000 })).stdout);
    assert.deepEqual(within, { rc: 0, serverKeepAlive: null }, 'a keep-alive within the cap is not echoed');
    const v311 = JSON.parse((await run('/usr/bin/python3', ['-c', PAHO_CONNECT, String(broker.port), '311', '120'], { timeout: 20_000 })).stdout);
    assert.deepEqual(v311, { rc: 0, serverKeepAlive: null });
  });

  it('enforces the Server Keep Alive it announced: a silent client asking for 120 s, or for none, is dropped after 1.5 × the cap with DISCONNECT 0x8D; a 3.1.1 client keeps the 120 s it asked for', async () => {
    const broker = await brokerWithCap(1);
    const [asked120, askedNone, v311] = await Promise.all([
      rawConnect(broker.port, 5, 'ka-120', 120),
      rawConnect(broker.port, 5, 'ka-none', 0),
      rawConnect(broker.port, 4, 'ka-311', 120),
    ]);
    for (const { connack } of [asked120, askedNone]) {
      assert.equal(connack.reasonCode, ReasonCode.Success);
      assert.equal(connack.properties?.serverKeepAlive, 1);
    }
    assert.equal(v311.connack.properties, undefined);
    for (const { client, sentAtMs } of [asked120, askedNone]) {
      const disconnect = await client.next(isDisconnect, 10_000);
      assert.equal(disconnect.reasonCode, ReasonCode.KeepAliveTimeout);
      const closedAtMs = await client.closed;
      // The hub counts from when it read CONNECT, after it was sent: never earlier than 1.5 s.
      assert.ok(closedAtMs - sentAtMs >= 1_500, `closed after ${closedAtMs - sentAtMs} ms, before 1.5 × 1 s`);
    }
    // The 3.1.1 client was just as silent, for as long: still connected, it gets its PINGRESP.
    v311.client.send({ cmd: 'pingreq' });
    await v311.client.next((p): p is Packet => p.cmd === 'pingresp');
  });

  it('keeps a client that sends within 1.5 × its keep-alive for as long as it does, and closes a connection without CONNECT after the connect timeout, not before', async () => {
    const broker = await startTestBroker({ limits: { maxKeepAliveSec: 1 }, connectTimeoutMs: 1_000 });
    brokers.push(broker);
    const { client } = await rawConnect(broker.port, 5, 'ka-pinging', 1);
    const silent = await RawMqttClient.open(broker.port, 5);
    clients.push(silent);
    const openedAtMs = Date.now();
    // Pings every 0.6 s for 4 s: each moves its deadline (the connection's place on the wheel).
    for (let i = 0; i < 7; i++) {
      await new Promise((resolve) => setTimeout(resolve, 600));
      client.send({ cmd: 'pingreq' });
      await client.next((p): p is Packet => p.cmd === 'pingresp', 2_000);
    }
    const closedAtMs = await silent.closed;
    assert.ok(closedAtMs - openedAtMs >= 1_000, `closed ${closedAtMs - openedAtMs} ms after it opened, before the 1 s connect timeout`);
    // The wheel checks at most a tick (1 s) late; the rest is room for a loaded machine.
    assert.ok(closedAtMs - openedAtMs < 6_000, `closed ${closedAtMs - openedAtMs} ms after it opened`);
    assert.ok((broker.adapter.protocolErrors.get('connect timeout') ?? 0) >= 1, JSON.stringify([...broker.adapter.protocolErrors]));
  });

  it('a cap above 65535 s is announced as 65535 s instead of failing the CONNACK', async () => {
    const broker = await brokerWithCap(100_000);
    const { connack, client } = await rawConnect(broker.port, 5, 'ka-huge', 0);
    assert.equal(connack.reasonCode, ReasonCode.Success);
    assert.equal(connack.properties?.serverKeepAlive, MAX_KEEP_ALIVE_SEC);
    client.send({ cmd: 'pingreq' });
    await client.next((p): p is Packet => p.cmd === 'pingresp');
  });

  it('negotiates: MQTT 5 gets the cap for more or none; 3.1.1 keeps its request; the cap stays within 1..65535 s', () => {
    assert.equal(negotiateKeepAlive(120, 60, 5), 60);
    assert.equal(negotiateKeepAlive(0, 60, 5), 60);
    assert.equal(negotiateKeepAlive(30, 60, 5), 30);
    assert.equal(negotiateKeepAlive(60, 60, 5), 60);
    assert.equal(negotiateKeepAlive(120, 60, 4), 120);
    assert.equal(negotiateKeepAlive(0, 60, 3), 0);
    assert.equal(negotiateKeepAlive(0, 100_000, 5), MAX_KEEP_ALIVE_SEC);
    assert.equal(negotiateKeepAlive(10, 0, 5), 1, 'a 0 cap would mean no keep-alive at all');
  });
});
