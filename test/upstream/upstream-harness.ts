/**
 * Two real Outpost hubs on loopback, a child whose `$upstream` goes to its parent over AMQP (the
 * upstream link), with identities registered on both (the same keys: each identity signs its own
 * token on the parent), a `sink` module on the parent receiving everything the parent routes, and
 * devices and modules on the child publishing with mqtt.js. The parent can be killed with SIGKILL
 * and started again on the same data directory and AMQP port.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { childEnv, portOutsideEphemeralRange, spawnOutpost, stopQuietly, type LogLine, type OutpostProcess } from '../helpers/outpost-process.js';
import { sasLogin } from '../helpers/sas-hub.js';

export const HUB = 'upstreamhub.azure-devices.net';
export const PARENT = 'parent-edge';
export const CHILD = 'child-edge';
const START_TIMEOUT_MS = 60_000;

export interface Received {
  readonly seq: number;
  readonly source: string;
  readonly cdid: string | undefined;
  readonly cmid: string | undefined;
  readonly atMs: number;
}

export interface RunningHub {
  readonly outpost: OutpostProcess;
  readonly amqpPort: number;
  readonly mqttPort: number;
  readonly caFile: string;
  readonly ca: string;
  readonly ready: LogLine;
}

export class TwoHubs {
  readonly parentDir: string;
  readonly childDir: string;
  readonly parentRegistry: IdentityRegistry;
  readonly childRegistry: IdentityRegistry;
  parent: RunningHub | undefined;
  child: RunningHub | undefined;
  readonly received: Received[] = [];
  private readonly clients: mqtt.MqttClient[] = [];
  private readonly processes: OutpostProcess[] = [];

  constructor(
    dir: string,
    private readonly childEnvOverrides: Record<string, string> = {},
    private readonly parentEnvOverrides: Record<string, string> = {},
  ) {
    this.parentDir = join(dir, 'parent');
    this.childDir = join(dir, 'child');
    writeFileSync(join(dir, 'parent.json'), hubManifest({ toSink: 'FROM /messages/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' }));
    writeFileSync(join(dir, 'child.json'), hubManifest({ up: 'FROM /messages/* INTO $upstream' }));
    this.parentRegistry = IdentityRegistry.open({ dataDir: this.parentDir, edgeDeviceId: PARENT });
    this.childRegistry = IdentityRegistry.open({ dataDir: this.childDir, edgeDeviceId: CHILD });
    this.parentRegistry.add({ deviceId: PARENT, moduleId: 'sink' });
    // The child edge device is the parent's child: the parent's methods, twins and C2D reach its devices.
    this.parentRegistry.add({ deviceId: CHILD, edge: true, parentDeviceId: PARENT });
  }

  /** The child edge device's connection string for the parent (upstream.connectionString). */
  childConnectionString(): string {
    return `HostName=${HUB};DeviceId=${CHILD};SharedAccessKey=${this.key(this.parentRegistry, CHILD)}`;
  }

  /** An identity on the child, known to the parent with the same keys (unless `parentKnows` is false). */
  addChildIdentity(deviceId: string, moduleId?: string, parentKnows = true): void {
    const record = this.childRegistry.add(moduleId === undefined ? { deviceId } : { deviceId, moduleId });
    if (parentKnows) this.copyToParent(record.deviceId, record.moduleId);
  }

  /** Registers on the parent an identity of the child with the child's keys. */
  copyToParent(deviceId: string, moduleId?: string): void {
    const record = this.childRegistry.get(deviceId, moduleId)!;
    assert.equal(record.authentication.type, 'sas');
    const authentication = record.authentication as { type: 'sas'; primaryKey: string; secondaryKey: string };
    this.parentRegistry.add({ deviceId, ...(moduleId === undefined ? { parentDeviceId: CHILD } : { moduleId }), authentication: { type: 'sas', primaryKey: authentication.primaryKey, secondaryKey: authentication.secondaryKey } });
  }

  key(registry: IdentityRegistry, deviceId: string, moduleId?: string): string {
    const record = registry.get(deviceId, moduleId);
    assert.ok(record !== undefined && record.authentication.type === 'sas');
    return record.authentication.primaryKey;
  }

  async startParent(amqpPort = 0): Promise<RunningHub> {
    const env = { OUTPOST_DEVICE_ID: PARENT, OUTPOST_IOT_HUB_HOSTNAME: HUB, ...this.parentEnvOverrides };
    // A port the parent keeps across a restart (tests kill it and start it again on the same one).
    this.parent = await this.start(this.parentDir, join(this.parentDir, '..', 'parent.json'), env, amqpPort === 0 ? await portOutsideEphemeralRange() : amqpPort);
    return this.parent;
  }

  /** `upstreamPort`: where the child reaches its parent (the parent's AMQP port unless a proxy sits between). */
  async startChild(upstreamPort?: number): Promise<RunningHub> {
    const parent = this.parent!;
    const env = {
      OUTPOST_DEVICE_ID: CHILD,
      OUTPOST_IOT_HUB_HOSTNAME: HUB,
      OUTPOST_UPSTREAM__HOSTNAME: 'localhost',
      OUTPOST_UPSTREAM__PORT: String(upstreamPort ?? parent.amqpPort),
      OUTPOST_UPSTREAM__CA_FILE: parent.caFile,
      OUTPOST_UPSTREAM__CONNECTION_STRING: this.childConnectionString(),
      ...this.childEnvOverrides,
    };
    this.child = await this.start(this.childDir, join(this.childDir, '..', 'child.json'), env, 0);
    return this.child;
  }

  /** SIGKILL: no shutdown, whatever was in flight is cut. */
  async killParent(): Promise<void> {
    await stopQuietly(this.parent?.outpost);
  }

  /** The parent's `sink` module over MQTT, recording every message routed to it (with its sender). */
  async connectSink(): Promise<mqtt.MqttClient> {
    const parent = this.parent!;
    const login = sasLogin(HUB, this.key(this.parentRegistry, PARENT, 'sink'), PARENT, 'sink');
    const client = mqtt.connect(`mqtts://localhost:${parent.mqttPort}`, { ...login, ca: parent.ca, reconnectPeriod: 0, clean: false });
    this.clients.push(client);
    client.on('error', () => undefined);
    client.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString('utf8')) as { seq: number; source: string };
      const bag = new URLSearchParams(topic.slice(topic.indexOf('/inputs/in/') + '/inputs/in/'.length));
      this.received.push({ seq: body.seq, source: body.source, cdid: bag.get('$.cdid') ?? undefined, cmid: bag.get('$.cmid') ?? undefined, atMs: Date.now() });
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(`devices/${PARENT}/modules/sink/#`, { qos: 1 });
    return client;
  }

  /** A device (or one of the child's modules) on the child over MQTT. */
  /** `key`: the identity's SAS key (default: the child's registry's, as the test wrote it). */
  async connectToChild(deviceId: string, moduleId?: string, key = this.key(this.childRegistry, deviceId, moduleId)): Promise<mqtt.MqttClient> {
    const child = this.child!;
    const login = sasLogin(HUB, key, deviceId, moduleId);
    const client = mqtt.connect(`mqtts://localhost:${child.mqttPort}`, { ...login, ca: child.ca, reconnectPeriod: 0 });
    this.clients.push(client);
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  }

  /** Publishes `{seq, source}` with QoS 1; resolves once the child acknowledged it (PUBACK: in its store). */
  static async publish(client: mqtt.MqttClient, topic: string, source: string, seq: number, padBytes = 0): Promise<void> {
    await client.publishAsync(topic, JSON.stringify({ seq, source, pad: 'p'.repeat(padBytes) }), { qos: 1 });
  }

  /** Per source, the first arrival of each seq, in arrival order. */
  firstArrivals(source: string): number[] {
    const seen = new Set<number>();
    const order: number[] = [];
    for (const item of this.received) {
      if (item.source !== source || seen.has(item.seq)) continue;
      seen.add(item.seq);
      order.push(item.seq);
    }
    return order;
  }

  async waitForAll(source: string, count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (new Set(this.received.filter((r) => r.source === source).map((r) => r.seq)).size < count) {
      if (Date.now() > deadline) throw new Error(`${source}: ${new Set(this.received.filter((r) => r.source === source).map((r) => r.seq)).size} of ${count} arrived within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end(true);
    await Promise.all(this.processes.map((p) => stopQuietly(p)));
  }

  private async start(dataDir: string, manifest: string, env: Record<string, string>, amqpPort: number): Promise<RunningHub> {
    const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', String(amqpPort), '--https-port', '0', '--deployment', manifest], { env: childEnv(env) });
    this.processes.push(outpost);
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', START_TIMEOUT_MS);
    // hub.ready comes after the control socket listens (a killed hub's stale socket file is there
    // until then); this wait only makes sure of it.
    await outpost.waitFor((line) => line.event === 'hub.control_listening', START_TIMEOUT_MS);
    const ports = ready.ports as { amqp: number; mqtt: number };
    const caFile = String(ready.caFile);
    return { outpost, amqpPort: ports.amqp, mqttPort: ports.mqtt, caFile, ca: readFileSync(caFile, 'utf8'), ready };
  }
}
