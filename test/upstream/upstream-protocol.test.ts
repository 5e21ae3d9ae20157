/**
 * upstream.protocol (Azure's UpstreamProtocol) between two real Outposts on loopback
 * (docs/upstream.md, "Upstream protocols"): AmqpWs (the AMQP link inside a WebSocket to the
 * parent's HTTPS listener), Mqtt (one MQTT/TLS connection per identity) and MqttWs (those over
 * WebSocket). Each: a device's telemetry and a module's output arrive at the parent in order, as
 * their own identities, with their properties, over the protocol asked for.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { stopQuietly, tempDir } from '../helpers/outpost-process.js';
import { retryUntil } from './relay-harness.js';
import { CHILD, TwoHubs } from './upstream-harness.js';

const DEVICE_TOPIC = 'devices/dev1/messages/events/';
const MODULE_TOPIC = `devices/${CHILD}/modules/mod1/messages/events/`;
const COUNT = 60;

type Protocol = 'AmqpWs' | 'Mqtt' | 'MqttWs';

/** A TCP proxy on loopback (port 0) whose target port can change: the parent restarted on a new MQTT port stays where the child looks. */
class MovableProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(public targetPort: number) {}

  async start(): Promise<number> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: 'localhost', port: this.targetPort });
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, () => resolve()));
    this.server = server;
    return (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function site(t: TestContext, protocol: Protocol, viaAlias: boolean, extraEnv: Record<string, string> = {}): Promise<{ hubs: TwoHubs; bags: URLSearchParams[]; proxy: MovableProxy | undefined }> {
  const dir = tempDir(`outpost-upproto-${protocol.toLowerCase()}-`);
  // Filled in once the parent's ports are known: TwoHubs reads it when the child starts.
  const childEnv: Record<string, string> = viaAlias ? { UpstreamProtocol: protocol } : { OUTPOST_UPSTREAM__PROTOCOL: protocol };
  childEnv.OUTPOST_UPSTREAM__PROBE_INTERVAL = '200ms';
  Object.assign(childEnv, extraEnv);
  const hubs = new TwoHubs(dir.path, childEnv, { OUTPOST_LOG_LEVEL: 'debug' });
  let proxy: MovableProxy | undefined;
  t.after(async () => {
    await proxy?.close();
    await hubs.close();
    dir.remove();
  });
  hubs.addChildIdentity('dev1');
  hubs.addChildIdentity(CHILD, 'mod1');
  const parent = await hubs.startParent();
  const ports = parent.ready.ports as { https: number; mqtt: number };
  if (protocol === 'Mqtt') {
    proxy = new MovableProxy(ports.mqtt);
    childEnv.OUTPOST_UPSTREAM__MQTT_PORT = String(await proxy.start());
  }
  else childEnv.OUTPOST_UPSTREAM__WEB_SOCKET_PORT = String(ports.https);
  const sink = await hubs.connectSink();
  const bags: URLSearchParams[] = [];
  sink.on('message', (topic) => bags.push(new URLSearchParams(topic.slice(topic.indexOf('/inputs/in/') + '/inputs/in/'.length))));
  await hubs.startChild();
  return { hubs, bags, proxy };
}

async function sendAndCheck(hubs: TwoHubs, bags: URLSearchParams[]): Promise<void> {
  const device = await hubs.connectToChild('dev1');
  const module = await hubs.connectToChild(CHILD, 'mod1');
  await Promise.all([
    (async () => {
      for (let seq = 0; seq < COUNT; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    })(),
    (async () => {
      for (let seq = 0; seq < COUNT; seq++) await TwoHubs.publish(module, MODULE_TOPIC, 'mod1', seq);
    })(),
  ]);
  await device.publishAsync(`${DEVICE_TOPIC}kind=probe&%24.mid=m-1&%24.ct=application%2Fjson&%24.ce=utf-8`, JSON.stringify({ seq: 0, source: 'props' }), { qos: 1 });
  await hubs.waitForAll('dev1', COUNT);
  await hubs.waitForAll('mod1', COUNT);
  await hubs.waitForAll('props', 1);
  assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(COUNT).keys()]);
  assert.deepEqual(hubs.firstArrivals('mod1'), [...Array(COUNT).keys()]);
  for (const item of hubs.received) {
    if (item.source === 'mod1') assert.deepEqual([item.cdid, item.cmid], [CHILD, 'mod1']);
    else assert.deepEqual([item.cdid, item.cmid], ['dev1', undefined]);
  }
  const probe = bags.find((bag) => bag.get('kind') === 'probe');
  assert.ok(probe !== undefined, 'the message with properties reached the parent\'s sink');
  assert.equal(probe.get('$.mid'), 'm-1');
  assert.equal(probe.get('$.ct'), 'application/json');
  assert.equal(probe.get('$.ce'), 'utf-8');
}

describe('upstream.protocol between two Outposts', () => {
  it('AmqpWs: the AMQP link over a WebSocket to the parent\'s HTTPS listener (/$iothub/websocket, AMQPWSB10)', async (t) => {
    const { hubs, bags } = await site(t, 'AmqpWs', false);
    await sendAndCheck(hubs, bags);
    const authenticated = hubs.parent!.outpost.lines.filter((line) => line.event === 'amqp.identity_authenticated');
    assert.ok(authenticated.some((line) => line.identity === 'dev1'), 'dev1 authenticated on the parent\'s AMQP adapter');
    assert.ok(authenticated.every((line) => line.listener === 'amqpWs'), `every AMQP identity came over WebSocket: ${JSON.stringify(authenticated.map((l) => l.listener))}`);
    assert.equal(hubs.child!.outpost.lines.filter((line) => line.event === 'upstream.connected').length, 1, 'one connection for every identity');
  });

  it('Mqtt (set as UpstreamProtocol): one MQTT connection per identity, telemetry settled by PUBACK, and it survives a parent killed (-9) and restarted', async (t) => {
    const { hubs, bags, proxy } = await site(t, 'Mqtt', true);
    await sendAndCheck(hubs, bags);
    const clientIds = new Set(hubs.parent!.outpost.lines.filter((line) => line.event === 'mqtt.connected').map((line) => line.clientId));
    for (const id of [CHILD, 'dev1', `${CHILD}/mod1`]) assert.ok(clientIds.has(id), `an MQTT connection of ${id} at the parent: ${JSON.stringify([...clientIds])}`);
    assert.equal(hubs.parent!.outpost.lines.filter((line) => line.event === 'amqp.identity_authenticated').length, 0, 'nothing over AMQP');

    // The parent killed mid-stream and restarted on the same ports: nothing the child acknowledged is lost, order kept per source.
    const device = await hubs.connectToChild('dev1');
    const sending = (async () => {
      for (let seq = COUNT; seq < 3 * COUNT; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    })();
    await hubs.waitForAll('dev1', COUNT + 10);
    await stopQuietly(hubs.parent!.outpost);
    await sending;
    const restarted = await hubs.startParent();
    proxy!.targetPort = restarted.mqttPort;
    await hubs.connectSink();
    await hubs.waitForAll('dev1', 3 * COUNT, 120_000);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(3 * COUNT).keys()]);
  });

  it('MqttWs: the per-identity MQTT connections over WebSocket to the parent\'s HTTPS listener, reconnected with a fresh token before it expires', async (t) => {
    // Tokens of 8 s: each connection is renewed after 6 s.
    const { hubs, bags } = await site(t, 'MqttWs', false, { OUTPOST_UPSTREAM__TOKEN_TTL: '8s' });
    await sendAndCheck(hubs, bags);
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.mqtt_token_renewal' && line.identity === 'dev1', 30_000);
    await retryUntil('dev1 connected again with a new token', async () => (hubs.child!.outpost.lines.filter((line) => line.event === 'upstream.mqtt_connected' && line.identity === 'dev1').length >= 2 ? true : undefined));
    const device = await hubs.connectToChild('dev1');
    for (let seq = COUNT; seq < COUNT + 10; seq++) await TwoHubs.publish(device, DEVICE_TOPIC, 'dev1', seq);
    await hubs.waitForAll('dev1', COUNT + 10);
    assert.deepEqual(hubs.firstArrivals('dev1'), [...Array(COUNT + 10).keys()]);
    const connected = hubs.parent!.outpost.lines.filter((line) => line.event === 'mqtt.connected' && ['dev1', `${CHILD}/mod1`].includes(String(line.clientId)));
    assert.ok(connected.length >= 2, JSON.stringify(connected));
    assert.ok(connected.every((line) => line.listener === 'mqttWs'), `over WebSocket: ${JSON.stringify(connected.map((l) => l.listener))}`);
  });
});
