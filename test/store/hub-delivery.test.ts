/**
 * Store-backed delivery through a real hub (MQTT over TLS, SAS-authenticated modules): messages
 * for a module that is not connected wait in the store; a module that disconnects with messages
 * unacknowledged gets them again after reconnecting, in order, with nothing lost.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentity, connectIdentity, type IotIdentity } from './iot-clients.js';

const EDGE = 'edge-1';
const HUB = 'deliveryhub.azure-devices.net';
const COUNT = 3000;

describe('store-backed delivery to a module input through the hub', () => {
  const dir = tempDir('outpost-hub-delivery-');
  const dataDir = join(dir.path, 'data');
  const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB, OUTPOST_STORE__RETRY_INTERVAL_MAX: '100ms', OUTPOST_STORE__DELIVERY_WINDOW: '64' };
  let hub: OutpostProcess | undefined;
  let port = 0;
  let ca = '';
  let sensor: IotIdentity;
  let sink: IotIdentity;
  const clients: MqttClient[] = [];

  before(async () => {
    const manifest = join(dir.path, 'deployment.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        modulesContent: {
          $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
          $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { r: 'FROM /messages/modules/sensor/outputs/out INTO BrokeredEndpoint("/modules/sink/inputs/in")' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
        },
      }),
    );
    sensor = await addIdentity(dataDir, env, EDGE, 'sensor');
    sink = await addIdentity(dataDir, env, EDGE, 'sink');
    const started = await startHub({ dataDir, args: ['--deployment', manifest], env });
    hub = started.outpost;
    port = started.ports.mqtt!;
    ca = readFileSync(String(started.ready.caFile), 'utf8');
  });

  after(async () => {
    for (const client of clients) client.end(true);
    await stopQuietly(hub);
    dir.remove();
  });

  it('holds messages while the module is away and redelivers what it did not acknowledge', async () => {
    // The module is not connected yet: everything the sensor sends is acknowledged and stored.
    const publisher = await connectIdentity(HUB, port, ca, sensor);
    clients.push(publisher);
    await Promise.all(Array.from({ length: COUNT }, (_, n) => publisher.publishAsync(`devices/${EDGE}/modules/sensor/messages/events/%24.on=out`, String(n), { qos: 1 })));

    // First connection: acknowledge 500 messages, then hold the next one and drop the connection.
    const received: number[] = [];
    let stalled: () => void = () => undefined;
    const stalledAt = new Promise<void>((resolve) => (stalled = resolve));
    const first = await connectIdentity(HUB, port, ca, sink);
    // mqtt.js sends a PUBACK once handleMessage calls back (MQTT 3.1.1 has no other hook).
    first.handleMessage = (packet, callback) => {
      if (packet.cmd !== 'publish') return callback();
      received.push(Number(packet.payload.toString()));
      if (received.length <= 500) callback();
      else stalled();
    };
    clients.push(first);
    await first.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
    await stalledAt;
    first.end(true);

    // Second connection: the rest arrives, starting with the unacknowledged message, in order.
    const again: number[] = [];
    let complete: () => void = () => undefined;
    const allThere = new Promise<void>((resolve) => (complete = resolve));
    const second = await connectIdentity(HUB, port, ca, sink);
    clients.push(second);
    second.on('message', (_topic, payload) => {
      again.push(Number(payload.toString()));
      if (new Set([...received.slice(0, 500), ...again]).size === COUNT) complete();
    });
    await second.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
    await Promise.race([allThere, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${again.length} redelivered`)), 30_000))]);
    assert.deepEqual(received.slice(0, 501), Array.from({ length: 501 }, (_, n) => n));
    // PUBACKs still in the first client's socket when it was cut never reached the hub, so the
    // redelivery starts at the first message the hub saw no acknowledgement for: at most 500.
    const resumeAt = again[0]!;
    assert.ok(resumeAt > 0 && resumeAt <= 500, `redelivery starts at ${resumeAt}`);
    assert.deepEqual(again.slice(0, COUNT - resumeAt), Array.from({ length: COUNT - resumeAt }, (_, n) => n + resumeAt), 'then everything, in order, once');
  });
});
