/**
 * MQTT over WebSocket on the HTTPS listener of a real hub process, with real clients over TLS:
 * mqtt.js over wss:// as an MQTT 5 client; upgrades to a wrong path, with a wrong subprotocol or
 * refused with their HTTP statuses and codes, and AMQP's subprotocol accepted; frames
 * that break WebSocket (garbage, text, oversize) closing that connection alone; and a subscriber
 * that stops reading, whose messages the hub drops as congested instead of buffering them; and a
 * graceful stop telling a WebSocket client why it is disconnected.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import mqtt from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { sasLogin } from '../helpers/sas-hub.js';
import { openWebSocket, RawWsMqttClient, type UpgradeRefusal } from './raw-ws-client.js';
import { connectMqttJs, HUB, setUpHub, tearDownHub, type WsHub } from './websocket-harness.js';

const MAX_MESSAGE_BYTES = 512 * 1024;
let hub: WsHub | undefined;

before(async () => {
  hub = await setUpHub([['dev1'], ['dev2'], ['slow'], ['bad'], ['text'], ['big']], {}, () => undefined, { OUTPOST_HTTPS__MAX_WEB_SOCKET_MESSAGE_SIZE: String(MAX_MESSAGE_BYTES) });
});
after(() => tearDownHub(hub));

const url = (path = '/$iothub/websocket') => `wss://localhost:${hub!.httpsPort}${path}`;

/** A raw MQTT 3.1.1 session over WebSocket as a SAS device, CONNACKed. */
async function rawSession(deviceId: string): Promise<RawWsMqttClient> {
  const ws = await openWebSocket(url(), ['mqtt'], hub!.ca);
  assert.ok(ws instanceof WebSocket, `upgrade refused: ${JSON.stringify(ws)}`);
  const client = new RawWsMqttClient(ws);
  const record = hub!.registry.get(deviceId);
  assert.ok(record !== undefined && record.authentication.type === 'sas');
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, ...loginPacket(deviceId) });
  const connack = await client.waitFor((p) => p.cmd === 'connack');
  assert.equal((connack as Packet & { returnCode: number }).returnCode, 0);
  return client;
}

/** A QoS 1 round trip between two mqtt.js clients: proof that the hub still serves them. */
async function roundTrip(subscriber: mqtt.MqttClient, publisher: mqtt.MqttClient, topic: string): Promise<void> {
  await subscriber.subscribeAsync(topic, { qos: 1 });
  const got = new Promise<Buffer>((resolve) => subscriber.once('message', (_t, payload) => resolve(payload)));
  await publisher.publishAsync(topic, 'still here', { qos: 1 });
  assert.equal((await got).toString(), 'still here');
}

describe('MQTT over WebSocket with mqtt.js', () => {
  it('an MQTT 5 client connects over wss://, subscribes and gets a message with its properties', async () => {
    const subscriber = await connectMqttJs(hub!, 'dev1', { protocolVersion: 5 });
    const publisher = await connectMqttJs(hub!, 'dev2', { protocolVersion: 5 });
    await subscriber.subscribeAsync('plant/line1/#', { qos: 1 });
    const received = new Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }>((resolve) =>
      subscriber.once('message', (topic, payload, packet) => resolve({ topic, payload, packet })),
    );
    await publisher.publishAsync('plant/line1/temp', Buffer.from('21.5'), { qos: 1, properties: { userProperties: { unit: 'C' }, contentType: 'text/plain' } });
    const message = await received;
    assert.equal(message.topic, 'plant/line1/temp');
    assert.equal(message.payload.toString(), '21.5');
    assert.equal(message.packet.qos, 1);
    assert.deepEqual({ ...message.packet.properties?.userProperties }, { unit: 'C' });
    assert.equal(message.packet.properties?.contentType, 'text/plain');
    await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
  });
});

describe('refused upgrades', () => {
  const refused = async (path: string, subprotocols: string[]): Promise<UpgradeRefusal> => {
    const answer = await openWebSocket(url(path), subprotocols, hub!.ca);
    assert.ok(!(answer instanceof WebSocket), 'the upgrade must be refused');
    return answer;
  };

  it('a path other than /$iothub/websocket: 404', async () => {
    const answer = await refused('/mqtt', ['mqtt']);
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error, 'OUTPOST_WEBSOCKET_PATH_NOT_FOUND');
    await hub!.outpost.waitFor((l) => l.event === 'websocket.upgrade_refused' && l.code === 'OUTPOST_WEBSOCKET_PATH_NOT_FOUND' && l.path === '/mqtt');
  });

  it('no subprotocol the hub speaks: 400', async () => {
    const answer = await refused('/$iothub/websocket', ['stomp', 'wamp']);
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'OUTPOST_WEBSOCKET_SUBPROTOCOL_UNSUPPORTED');
    await hub!.outpost.waitFor((l) => l.event === 'websocket.upgrade_refused' && l.code === 'OUTPOST_WEBSOCKET_SUBPROTOCOL_UNSUPPORTED');
  });

  it('AMQP over WebSocket is accepted with subprotocol AMQPWSB10', async () => {
    const ws = await openWebSocket(url(), ['AMQPWSB10'], hub!.ca);
    assert.ok(ws instanceof WebSocket, `upgrade refused: ${JSON.stringify(ws)}`);
    assert.equal(ws.protocol, 'AMQPWSB10');
    ws.terminate();
  });

  it('a malformed handshake (no Sec-WebSocket-Key): 400', async () => {
    const answer = await new Promise<{ status: number; body: { error?: string } }>((resolve, reject) => {
      const req = request({
        host: 'localhost',
        port: hub!.httpsPort,
        ca: hub!.ca,
        path: '/$iothub/websocket',
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-protocol': 'mqtt' },
      });
      req.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string } }));
      });
      req.on('upgrade', () => reject(new Error('upgraded without a key')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'OUTPOST_WEBSOCKET_HANDSHAKE_INVALID');
  });

  it('the query string is not part of the path (the SDKs may add one)', async () => {
    const ws = await openWebSocket(url('/$iothub/websocket?iothub-no-client-cert=true'), ['mqtt'], hub!.ca);
    assert.ok(ws instanceof WebSocket);
    ws.terminate();
  });
});

describe('WebSocket framing errors close that connection only', () => {
  it('a garbage frame (reserved opcode) closes it with 1002; other clients keep working', async () => {
    const subscriber = await connectMqttJs(hub!, 'dev1');
    const publisher = await connectMqttJs(hub!, 'dev2');
    const bad = await rawSession('bad');
    // A masked frame with opcode 0xB, reserved for control frames (RFC 6455 section 5.2), written
    // under the ws client, which would never send it.
    (bad.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x8b, 0x80, 1, 2, 3, 4]));
    assert.equal(await bad.closed, 1002);
    await hub!.outpost.waitFor((l) => l.event === 'websocket.protocol_error' && l.listener === 'mqttWs');
    await roundTrip(subscriber, publisher, 'plant/after-garbage');
    await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
  });

  it('a text frame closes it with 1003', async () => {
    const client = await rawSession('text');
    client.ws.send('not binary');
    assert.equal(await client.closed, 1003);
  });

  it('a message over https.maxWebSocketMessageSize closes it with 1009', async () => {
    const client = await rawSession('big');
    client.ws.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1));
    assert.equal(await client.closed, 1009);
  });
});

describe('back-pressure', () => {
  it('a subscriber that stops reading gets its QoS 0 messages dropped as congested, not buffered without bound', async () => {
    const slow = await rawSession('slow');
    slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'plant/flood', qos: 0 }, { topic: 'plant/marker', qos: 1 }] });
    await slow.waitFor((p) => p.cmd === 'suback');
    // Stop reading: ws pauses the socket, so the kernel buffers fill and the hub's writes wait.
    slow.ws.pause();
    const publisher = mqtt.connect(`mqtts://localhost:${hub!.mqttPort}`, { ...loginOf('dev2'), ca: hub!.ca, reconnectPeriod: 0 });
    hub!.clients.push({ close: () => publisher.endAsync(true) });
    await new Promise<void>((resolve, reject) => {
      publisher.once('connect', () => resolve());
      publisher.once('error', reject);
    });
    const payload = Buffer.alloc(64 * 1024, 0x61);
    const count = 1024; // 64 MiB towards a client that reads nothing
    for (let i = 0; i < count; i += 1) publisher.publish('plant/flood', payload, { qos: 0 });
    const dropped = await hub!.outpost.waitFor((l) => l.event === 'broker.message_dropped' && l.reason === 'congested' && l.clientId === 'slow', 30_000);
    assert.equal(dropped.topic, 'plant/flood');
    // A QoS 1 message after the flood: queued (never dropped) and delivered after what the hub
    // kept for the client, so what arrives before it is all the hub buffered.
    await publisher.publishAsync('plant/marker', 'end', { qos: 1 });
    slow.ws.resume();
    const marker = await slow.waitFor((p) => p.cmd === 'publish' && p.topic === 'plant/marker', 30_000);
    const delivered = slow.packets.slice(0, slow.packets.indexOf(marker)).filter((p) => p.cmd === 'publish' && p.topic === 'plant/flood').length;
    // What was held: mqtt.maxConnectionBuffer (1 MiB) in the hub, plus the two kernels' socket
    // buffers (a few MiB on loopback); far from everything that was sent.
    assert.ok(delivered > 0 && delivered < count / 2, `${delivered} of ${count} flood messages were held for a client that read nothing`);
    await publisher.endAsync();
    slow.ws.close();
  });
});

// Last: it stops the hub.
describe('shutdown', () => {
  it('an MQTT 5 client over WebSocket is told the server is shutting down (DISCONNECT 0x8B)', async () => {
    const client = await connectMqttJs(hub!, 'dev1', { protocolVersion: 5 });
    const disconnect = new Promise<mqtt.IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    hub!.outpost.child.kill('SIGTERM');
    assert.equal((await disconnect).reasonCode, SERVER_SHUTTING_DOWN);
    await closed;
    assert.equal(await hub!.outpost.exited(60_000), 0);
  });
});

/** MQTT 5.0 reason code 0x8B. */
const SERVER_SHUTTING_DOWN = 0x8b;

function loginPacket(deviceId: string): { clientId: string; username: string; password: Buffer } {
  const login = loginOf(deviceId);
  return { ...login, password: Buffer.from(login.password) };
}

function loginOf(deviceId: string): { clientId: string; username: string; password: string } {
  const record = hub!.registry.get(deviceId);
  assert.ok(record !== undefined && record.authentication.type === 'sas');
  return sasLogin(HUB, record.authentication.primaryKey, deviceId);
}
