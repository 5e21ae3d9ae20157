/**
 * Two real Outposts on loopback for the MQTT bridge: a child whose upstream is its parent (the
 * identities and keys of test/upstream's TwoHubs), each with a deployment of schema 1.2 holding
 * an authorization policy and, on the child, `mqttBroker.bridges`. Unlike TwoHubs, the parent can
 * come back on the same MQTT port (the bridge's bridge.port), and devices on both sides are
 * ordinary mqtt.js clients on user topics.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { childEnv, spawnOutpost, stopQuietly, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { sasLogin } from '../helpers/sas-hub.js';
import { CHILD, HUB, PARENT, TwoHubs } from '../upstream/upstream-harness.js';

const START_TIMEOUT_MS = 60_000;
/** A device on the parent and one on the child, for the user topics on each side. */
export const PARENT_DEVICE = 'pdev';
export const CHILD_DEVICE = 'cdev';

export interface Hub {
  readonly outpost: OutpostProcess;
  readonly amqpPort: number;
  readonly mqttPort: number;
  readonly caFile: string;
  readonly ca: string;
}

export interface Received {
  readonly topic: string;
  readonly payload: string;
}

/** The parent's policy: everyone connects; the child edge device and pdev use any user topic, except that the child may not subscribe under forbidden/. */
function parentPolicy(): unknown[] {
  return [
    { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] },
    { identities: [`${HUB}/${CHILD}`], deny: [{ operations: ['mqtt:subscribe'], resources: ['forbidden/#'] }], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['#'] }] },
    { identities: [`${HUB}/${PARENT_DEVICE}`], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['#'] }] },
  ];
}

function childPolicy(): unknown[] {
  return [
    { identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] },
    { identities: [`${HUB}/${CHILD_DEVICE}`], allow: [{ operations: ['mqtt:publish', 'mqtt:subscribe'], resources: ['#'] }] },
  ];
}

function manifest(mqttBroker: Record<string, unknown>): string {
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.2', routes: {}, storeAndForwardConfiguration: { timeToLiveSecs: 7200 }, mqttBroker } },
    },
  });
}

export class BridgeHubs {
  readonly ids: TwoHubs;
  parent: Hub | undefined;
  child: Hub | undefined;
  private readonly dir: { path: string; remove: () => void };
  private readonly clients: mqtt.MqttClient[] = [];
  private readonly processes: OutpostProcess[] = [];

  constructor(bridges: unknown, private readonly childOverrides: Record<string, string> = {}) {
    this.dir = tempDir('outpost-bridge-');
    this.ids = new TwoHubs(this.dir.path);
    this.ids.parentRegistry.add({ deviceId: PARENT_DEVICE });
    this.ids.addChildIdentity(CHILD_DEVICE, undefined, false);
    writeFileSync(join(this.dir.path, 'parent.json'), manifest({ authorizations: parentPolicy() }));
    writeFileSync(join(this.dir.path, 'child.json'), manifest({ authorizations: childPolicy(), bridges }));
  }

  async startParent(ports: { amqp: number; mqtt: number } = { amqp: 0, mqtt: 0 }): Promise<Hub> {
    this.parent = await this.start(this.ids.parentDir, 'parent.json', { OUTPOST_DEVICE_ID: PARENT, OUTPOST_IOT_HUB_HOSTNAME: HUB }, ports);
    return this.parent;
  }

  async startChild(): Promise<Hub> {
    const parent = this.parent!;
    const env = {
      OUTPOST_DEVICE_ID: CHILD,
      OUTPOST_IOT_HUB_HOSTNAME: HUB,
      OUTPOST_UPSTREAM__HOSTNAME: 'localhost',
      OUTPOST_UPSTREAM__PORT: String(parent.amqpPort),
      OUTPOST_UPSTREAM__CA_FILE: parent.caFile,
      OUTPOST_UPSTREAM__CONNECTION_STRING: this.ids.childConnectionString(),
      OUTPOST_BRIDGE__PORT: String(parent.mqttPort),
      ...this.childOverrides,
    };
    this.child = await this.start(this.ids.childDir, 'child.json', env, { amqp: 0, mqtt: 0 });
    return this.child;
  }

  /** SIGKILL: nothing is flushed or closed by the parent. */
  async killParent(): Promise<void> {
    await stopQuietly(this.parent?.outpost);
  }

  /** pdev on the parent, or cdev on the child: an mqtt.js client (MQTT 5) recording what it receives. */
  async device(side: 'parent' | 'child', options: { clean?: boolean } = {}): Promise<{ client: mqtt.MqttClient; received: Received[] }> {
    const hub = side === 'parent' ? this.parent! : this.child!;
    const registry = side === 'parent' ? this.ids.parentRegistry : this.ids.childRegistry;
    const deviceId = side === 'parent' ? PARENT_DEVICE : CHILD_DEVICE;
    const login = sasLogin(HUB, this.ids.key(registry, deviceId), deviceId);
    const clean = options.clean ?? true;
    const client = mqtt.connect(`mqtts://localhost:${hub.mqttPort}`, {
      ...login,
      ca: hub.ca,
      reconnectPeriod: 0,
      protocolVersion: 5,
      clean,
      ...(clean ? {} : { properties: { sessionExpiryInterval: 3600 } }),
    });
    this.clients.push(client);
    const received: Received[] = [];
    client.on('error', () => undefined);
    client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString('utf8') }));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return { client, received };
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.end(true);
    await Promise.all(this.processes.map((p) => stopQuietly(p)));
    this.dir.remove();
  }

  private async start(dataDir: string, manifestName: string, env: Record<string, string>, ports: { amqp: number; mqtt: number }): Promise<Hub> {
    const args = ['hub', '--data-dir', dataDir, '--mqtt-port', String(ports.mqtt), '--amqp-port', String(ports.amqp), '--https-port', '0', '--deployment', join(this.dir.path, manifestName)];
    const outpost = spawnOutpost(args, { env: childEnv(env) });
    this.processes.push(outpost);
    const ready = await outpost.waitFor((line) => line.event === 'hub.ready', START_TIMEOUT_MS);
    const found = ready.ports as { amqp: number; mqtt: number };
    const caFile = String(ready.caFile);
    return { outpost, amqpPort: found.amqp, mqttPort: found.mqtt, caFile, ca: readFileSync(caFile, 'utf8') };
  }
}

/** Waits until `predicate` holds over `received`, polling within a deadline. */
export async function until(what: string, predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
