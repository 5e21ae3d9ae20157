/**
 * What the upstream.protocol tests share (upstream-protocol-*.test.ts): upstream.protocol (Azure's UpstreamProtocol) between two real Outposts on loopback
 * (docs/upstream.md, "Upstream protocols"): AmqpWs (the AMQP link inside a WebSocket to the
 * parent's HTTPS listener), Mqtt (one MQTT/TLS connection per identity) and MqttWs (those over
 * WebSocket). Each: a device's telemetry and a module's output arrive at the parent in order, as
 * their own identities, with their properties, over the protocol asked for.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { LinkCutter } from './relay-harness.js';
import { CHILD, TwoHubs } from './upstream-harness.js';

export const DEVICE_TOPIC = 'devices/dev1/messages/events/';
export const MODULE_TOPIC = `devices/${CHILD}/modules/mod1/messages/events/`;
export const COUNT = 60;

export type Protocol = 'AmqpWs' | 'Mqtt' | 'MqttWs';

export async function site(t: TestContext, protocol: Protocol, viaAlias: boolean, extraEnv: Record<string, string> = {}): Promise<{ hubs: TwoHubs; bags: URLSearchParams[]; proxy: LinkCutter | undefined }> {
  const dir = tempDir(`outpost-upproto-${protocol.toLowerCase()}-`);
  // Filled in once the parent's ports are known: TwoHubs reads it when the child starts.
  const childEnv: Record<string, string> = viaAlias ? { UpstreamProtocol: protocol } : { OUTPOST_UPSTREAM__PROTOCOL: protocol };
  childEnv.OUTPOST_UPSTREAM__PROBE_INTERVAL = '200ms';
  Object.assign(childEnv, extraEnv);
  const hubs = new TwoHubs(dir.path, childEnv, { OUTPOST_LOG_LEVEL: 'debug' });
  let proxy: LinkCutter | undefined;
  t.after(async () => {
    await proxy?.cut();
    await hubs.close();
    dir.remove();
  });
  hubs.addChildIdentity('dev1');
  hubs.addChildIdentity(CHILD, 'mod1');
  const parent = await hubs.startParent();
  const ports = parent.ready.ports as { https: number; mqtt: number };
  if (protocol === 'Mqtt') {
    proxy = new LinkCutter(ports.mqtt);
    childEnv.OUTPOST_UPSTREAM__MQTT_PORT = String(await proxy.start());
  }
  else childEnv.OUTPOST_UPSTREAM__WEB_SOCKET_PORT = String(ports.https);
  const sink = await hubs.connectSink();
  const bags: URLSearchParams[] = [];
  sink.on('message', (topic) => bags.push(new URLSearchParams(topic.slice(topic.indexOf('/inputs/in/') + '/inputs/in/'.length))));
  await hubs.startChild();
  return { hubs, bags, proxy };
}

export async function sendAndCheck(hubs: TwoHubs, bags: URLSearchParams[]): Promise<void> {
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

