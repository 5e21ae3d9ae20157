/**
 * Three real Outpost hubs on loopback (issue 18's "device → child gateway → parent gateway →
 * root"): the child's `$upstream` goes to the parent, the parent's to the root, the root has no
 * upstream and routes everything to its `sink` module. Devices connect to the child. The parent
 * can be killed with SIGKILL and restarted on the same data directory and port; a LinkCutter can
 * sit between parent and root.
 *
 * Identities: `registerDevice` is the one place that writes the registries. Every level knows
 * every device below it with the same keys and its parent chain. Each hop signs on behalf of the
 * devices below it with its own edge key (the auth chain), so the keys above the child are only
 * what a device would need to connect there directly; the chain is what each parent checks.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { childEnv, portOutsideEphemeralRange, spawnOutpost, stopQuietly, type OutpostProcess } from '../helpers/outpost-process.js';
import { sasLogin } from '../helpers/sas-hub.js';
import { HUB, type Received, type RunningHub } from './upstream-harness.js';

export const ROOT = 'root-edge';
export const MIDDLE = 'middle-edge';
export const LEAF_EDGE = 'leaf-edge';
const START_TIMEOUT_MS = 60_000;

export type Level = 'root' | 'parent' | 'child';

export class ThreeHubs {
  readonly dirs: Record<Level, string>;
  readonly registries: Record<Level, IdentityRegistry>;
  readonly running: Partial<Record<Level, RunningHub>> = {};
  readonly received: Received[] = [];
  private readonly clients: mqtt.MqttClient[] = [];
  private readonly processes: OutpostProcess[] = [];

  constructor(
    private readonly dir: string,
    private readonly envOverrides: Partial<Record<Level, Record<string, string>>> = {},
  ) {
    this.dirs = { root: join(dir, 'root'), parent: join(dir, 'parent'), child: join(dir, 'child') };
    writeFileSync(join(dir, 'root.json'), hubManifest({ toSink: 'FROM /messages/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' }));
    writeFileSync(join(dir, 'parent.json'), hubManifest({ up: 'FROM /messages/* INTO $upstream' }));
    writeFileSync(join(dir, 'child.json'), hubManifest({ up: 'FROM /messages/* INTO $upstream' }));
    this.registries = {
      root: IdentityRegistry.open({ dataDir: this.dirs.root, edgeDeviceId: ROOT }),
      parent: IdentityRegistry.open({ dataDir: this.dirs.parent, edgeDeviceId: MIDDLE }),
      child: IdentityRegistry.open({ dataDir: this.dirs.child, edgeDeviceId: LEAF_EDGE }),
    };
    this.registries.root.add({ deviceId: ROOT, moduleId: 'sink' });
    // The gateways: the middle is the root's child, the leaf edge the middle's (on the root too).
    this.registries.root.add({ deviceId: MIDDLE, edge: true, parentDeviceId: ROOT });
    this.copy('root', 'parent', LEAF_EDGE, undefined, MIDDLE, true, this.registries.root.add({ deviceId: LEAF_EDGE, edge: true, parentDeviceId: MIDDLE }));
  }

  /**
   * A device behind the child: created on the child (its keys generated there) and known with the
   * same keys to every level above, with its parent chain (device → leaf edge → middle → root).
   */
  registerDevice(deviceId: string): void {
    const record = this.registries.child.add({ deviceId });
    this.copy('child', 'parent', deviceId, undefined, LEAF_EDGE, false, record);
    this.copy('child', 'root', deviceId, undefined, LEAF_EDGE, false, record);
  }

  async startRoot(amqpPort = 0): Promise<RunningHub> {
    this.running.root = await this.start('root', ROOT, amqpPort, undefined);
    return this.running.root;
  }

  /** `upstreamPort`: where the parent reaches the root (the root's AMQP port unless a proxy sits between). */
  async startParent(amqpPort = 0, upstreamPort?: number): Promise<RunningHub> {
    const root = this.running.root!;
    // A port the parent keeps across a restart (tests kill it and start it again on the same one).
    this.running.parent = await this.start('parent', MIDDLE, amqpPort === 0 ? await portOutsideEphemeralRange() : amqpPort, { port: upstreamPort ?? root.amqpPort, caFile: root.caFile, key: this.key('root', MIDDLE) });
    return this.running.parent;
  }

  /** `withAgent`: `outpost run` (hub and agent, the process runtime) instead of `outpost hub`. */
  async startChild(options: { withAgent?: boolean } = {}): Promise<RunningHub> {
    const parent = this.running.parent!;
    this.running.child = await this.start('child', LEAF_EDGE, 0, { port: parent.amqpPort, caFile: parent.caFile, key: this.key('parent', LEAF_EDGE) }, options.withAgent === true);
    return this.running.child;
  }

  /** SIGKILL of the middle gateway: no shutdown, whatever was in flight is cut. */
  async killParent(): Promise<void> {
    await stopQuietly(this.running.parent?.outpost);
  }

  key(level: Level, deviceId: string, moduleId?: string): string {
    const record = this.registries[level].get(deviceId, moduleId);
    assert.ok(record !== undefined && record.authentication.type === 'sas', `${deviceId} has a SAS key on the ${level}`);
    return record.authentication.primaryKey;
  }

  /** The root's `sink` module over MQTT, recording every message routed to it with its sender. */
  async connectSink(): Promise<void> {
    const root = this.running.root!;
    const login = sasLogin(HUB, this.key('root', ROOT, 'sink'), ROOT, 'sink');
    const client = mqtt.connect(`mqtts://localhost:${root.mqttPort}`, { ...login, ca: root.ca, reconnectPeriod: 0, clean: false });
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
    await client.subscribeAsync(`devices/${ROOT}/modules/sink/#`, { qos: 1 });
  }

  /** A device on the child over MQTT (mqtt.js). */
  async connectToChild(deviceId: string): Promise<mqtt.MqttClient> {
    const child = this.running.child!;
    const login = sasLogin(HUB, this.key('child', deviceId), deviceId);
    const client = mqtt.connect(`mqtts://localhost:${child.mqttPort}`, { ...login, ca: child.ca, reconnectPeriod: 0 });
    this.clients.push(client);
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  }

  /** Per source, the first arrival of each seq at the root, in arrival order. */
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
    const distinct = () => new Set(this.received.filter((r) => r.source === source).map((r) => r.seq)).size;
    const deadline = Date.now() + timeoutMs;
    while (distinct() < count) {
      if (Date.now() > deadline) throw new Error(`${source}: ${distinct()} of ${count} arrived at the root within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end(true);
    await Promise.all(this.processes.map((p) => stopQuietly(p)));
  }

  private copy(from: Level, to: Level, deviceId: string, moduleId: string | undefined, parentDeviceId: string, edge: boolean, record = this.registries[from].get(deviceId, moduleId)!): void {
    assert.equal(record.authentication.type, 'sas');
    const { primaryKey, secondaryKey } = record.authentication as { type: 'sas'; primaryKey: string; secondaryKey: string };
    const parentOnTarget = parentDeviceId === this.edgeOf(to) ? undefined : parentDeviceId;
    this.registries[to].add({ deviceId, ...(moduleId === undefined ? { parentDeviceId: parentOnTarget, edge } : { moduleId }), authentication: { type: 'sas', primaryKey, secondaryKey } });
  }

  private edgeOf(level: Level): string {
    return level === 'root' ? ROOT : level === 'parent' ? MIDDLE : LEAF_EDGE;
  }

  private async start(level: Level, deviceId: string, amqpPort: number, upstream: { port: number; caFile: string; key: string } | undefined, withAgent = false): Promise<RunningHub> {
    const env: Record<string, string> = { OUTPOST_DEVICE_ID: deviceId, OUTPOST_IOT_HUB_HOSTNAME: HUB };
    if (upstream !== undefined) {
      env.OUTPOST_UPSTREAM__HOSTNAME = 'localhost';
      env.OUTPOST_UPSTREAM__PORT = String(upstream.port);
      env.OUTPOST_UPSTREAM__CA_FILE = upstream.caFile;
      env.OUTPOST_UPSTREAM__CONNECTION_STRING = `HostName=${HUB};DeviceId=${deviceId};SharedAccessKey=${upstream.key}`;
    }
    Object.assign(env, this.envOverrides[level] ?? {});
    const dataDir = this.dirs[level];
    const outpost = spawnOutpost([withAgent ? 'run' : 'hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', String(amqpPort), '--https-port', '0', '--deployment', join(this.dir, `${level}.json`)], { env: childEnv(env) });
    this.processes.push(outpost);
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', START_TIMEOUT_MS);
    await outpost.waitFor((line) => line.event === 'hub.control_listening', START_TIMEOUT_MS);
    if (withAgent) await outpost.waitFor((line) => line.event === 'agent.ready', START_TIMEOUT_MS);
    const ports = ready.ports as { amqp: number; mqtt: number };
    const caFile = String(ready.caFile);
    return { outpost, amqpPort: ports.amqp, mqttPort: ports.mqtt, caFile, ca: readFileSync(caFile, 'utf8'), ready };
  }
}
