/**
 * The crash test through the whole hub: a module and a device publish numbered QoS 1 messages
 * (MQTT over TLS, SAS-authenticated) that a route sends to another module's input, while the hub
 * process is killed with SIGKILL several times mid-load. After each restart the publishers send
 * again what was never acknowledged (QoS 1), and the subscriber sees every acknowledged message,
 * in order per source, with duplicates only where at-least-once allows them.
 */
import assert from 'node:assert/strict';
import { hubManifest } from '../helpers/hub-manifest.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startHub, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { addIdentity, connectIdentity, type IotIdentity } from './iot-clients.js';

const EDGE = 'edge-1';
const HUB = 'crashhub.azure-devices.net';
const KILLS = 3;
const WINDOW = 200;

interface Source {
  readonly name: string;
  readonly identity: IotIdentity;
  readonly topic: string;
  readonly acked: Set<number>;
  published: number;
}

describe('hub crash test (kill -9 of the hub, MQTT end to end)', () => {
  const dir = tempDir('outpost-hub-crash-');
  const dataDir = join(dir.path, 'data');
  const env = { OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB, OUTPOST_STORE__SHARDS: '2', OUTPOST_STORE__RETRY_INTERVAL_MAX: '200ms' };
  const manifest = join(dir.path, 'deployment.json');
  let hub: OutpostProcess | undefined;
  let sources: Source[] = [];
  let subscriberIdentity: IotIdentity;
  const clients = new Set<MqttClient>();
  const delivered = new Map<string, number[]>();
  let wake: (() => void) | undefined;

  before(async () => {
    writeFileSync(
      manifest,
      hubManifest({
        sensorToSink: 'FROM /messages/modules/sensor/outputs/out INTO BrokeredEndpoint("/modules/sink/inputs/in")',
        devicesToSink: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/sink/inputs/in")',
      }),
    );
    const sensor = await addIdentity(dataDir, env, EDGE, 'sensor');
    const device = await addIdentity(dataDir, env, 'dev1');
    subscriberIdentity = await addIdentity(dataDir, env, EDGE, 'sink');
    sources = [
      { name: 'sensor', identity: sensor, topic: `devices/${EDGE}/modules/sensor/messages/events/%24.on=out`, acked: new Set(), published: 0 },
      { name: 'dev1', identity: device, topic: 'devices/dev1/messages/events/', acked: new Set(), published: 0 },
    ];
    for (const source of sources) delivered.set(source.name, []);
  });

  after(async () => {
    for (const client of clients) client.end(true);
    await stopQuietly(hub);
    dir.remove();
  });

  async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Starts the hub, the subscriber, and publishers that send from their first unacknowledged number up to `upTo`. */
  async function round(upTo: number): Promise<() => void> {
    const started = await startHub({ dataDir, args: ['--deployment', manifest], env });
    hub = started.outpost;
    const port = started.ports.mqtt!;
    const ca = readFileSync(String(started.ready.caFile), 'utf8');
    const subscriber = await connectIdentity(HUB, port, ca, subscriberIdentity);
    clients.add(subscriber);
    subscriber.on('message', (_topic, payload) => {
      // Recorded before mqtt.js sends the PUBACK: the module has processed it.
      const { src, n } = JSON.parse(payload.toString()) as { src: string; n: number };
      delivered.get(src)!.push(n);
      wake?.();
    });
    await subscriber.subscribeAsync(`devices/${EDGE}/modules/sink/inputs/#`, { qos: 1 });
    let stopped = false;
    for (const source of sources) {
      const client = await connectIdentity(HUB, port, ca, source.identity);
      clients.add(client);
      client.on('error', () => undefined);
      let next = 0;
      while (source.acked.has(next)) next++;
      source.published = Math.max(source.published, upTo);
      let outstanding = 0;
      const pump = () => {
        while (!stopped && outstanding < WINDOW && next < upTo) {
          const n = next++;
          if (source.acked.has(n)) continue;
          outstanding++;
          client.publish(source.topic, JSON.stringify({ src: source.name, n }), { qos: 1 }, (error) => {
            outstanding--;
            if (error === undefined || error === null) source.acked.add(n);
            wake?.();
            pump();
          });
        }
      };
      pump();
    }
    return () => {
      stopped = true;
    };
  }

  const ackedTotal = () => sources.reduce((n, s) => n + s.acked.size, 0);

  it(`keeps every acknowledged message, in order per source, across ${KILLS} kills of the hub`, async (t) => {
    let upTo = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      upTo += 4000;
      const stop = await round(upTo);
      const target = ackedTotal() + 2500;
      await until(() => ackedTotal() >= target, 60_000, `acknowledgements before kill ${kill + 1}`);
      hub!.child.kill('SIGKILL');
      await hub!.exited();
      stop();
      for (const client of clients) client.end(true);
      clients.clear();
    }
    upTo += 500;
    await round(upTo);
    await until(() => sources.every((s) => s.acked.size === upTo), 60_000, 'every message to be acknowledged');
    const allDelivered = () => sources.every((s) => [...s.acked].every((n) => delivered.get(s.name)!.includes(n)));
    await until(() => sources.every((s) => new Set(delivered.get(s.name)).size >= s.acked.size), 60_000, 'every acknowledged message to be delivered');
    assert.ok(allDelivered());

    let total = 0;
    let duplicates = 0;
    for (const source of sources) {
      const seen = new Set<number>();
      let last = -1;
      for (const n of delivered.get(source.name)!) {
        total++;
        if (seen.has(n)) {
          duplicates++;
          continue;
        }
        assert.ok(n > last, `${source.name}: ${n} first delivered after ${last}`);
        seen.add(n);
        last = n;
      }
      for (const n of source.acked) assert.ok(seen.has(n), `${source.name}: acknowledged ${n} lost`);
    }
    t.diagnostic(`${upTo} messages from each of ${sources.length} sources, ${total} deliveries, ${duplicates} duplicates`);
    assert.ok(duplicates < total / 4, `${duplicates} duplicates in ${total} deliveries`);
    hub!.child.kill('SIGTERM');
    assert.equal(await hub!.exited(), 0);
  });
});
