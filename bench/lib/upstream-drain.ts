// The upstream flow shared by the upstream-drain* scenarios (issue 18): a child Outpost whose
// `$upstream` goes to a parent Outpost over one multiplexed AMQP connection. The harness starts
// the parent (the measured broker); the scenario starts the child (startTarget, as the harness
// would) pointed at a TCP relay in this process that is closed at first, so the child queues.
// Module publishers on the child (the Node generator, MQTT over TLS, one connection per
// identity) fill its `$upstream` queue for `fillSec`; then the relay opens ("link restored") and
// the child drains its backlog to the parent, which stores every message durably for its `sink`
// module (registered, never connected: nothing but the upstream path costs). Figures: drain
// start (relay open → first message in the parent's queue) and msg/s delivered at the parent
// (accepted into its store, from its first to its last message of the backlog), polled from the
// parent's `edgehub_queue_length` on its control socket (every 20 ms until the first message, then
// every 100 ms: the drain time is known to about 0.1 s, so the backlog must be several seconds' worth).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../../src/config/schema.js';
import { IdentityRegistry } from '../../src/hub/auth/index.js';
import { HUB_CONTROL_SOCKET, HubControlClient } from '../../src/hub/control/index.js';
import { LoadgenGroup } from './children.js';
import { finalBrokerFigures, MeasuredWindow, sleep } from './measure.js';
import { BENCH_EDGE_DEVICE, BENCH_HUB_ARGS, BENCH_IOT_HUB, benchModules, derivedKey, loginOf, registerIdentities, writeCredentialsFile, type SasIdentity } from './sas-devices.js';
import { startTarget, type RunningTarget } from './targets.js';
import type { ScenarioOptions, ScenarioOutcome } from '../scenarios/scenario.js';

export const UPSTREAM_TARGETS: readonly string[] = ['outpost'];
const PARENT_DEVICE = 'bench-parent';
const SINK_QUEUE = '/modules/sink/inputs/in';
const PAYLOAD_BYTES = 256;
/** Polls of the parent's queue: often until the first message (drain start), then less (a scrape costs the parent CPU). */
const POLL_FIRST_MS = 20;
const POLL_MS = 100;
/** Issue 18's targets: upstream msg/s with batching on the 2-core machine, drain start. */
export const TARGET_UPSTREAM_PER_SEC = 50_000;
export const TARGET_DRAIN_START_MS = 1_000;
const DRAIN_TIMEOUT_MS = 120_000;

export interface UpstreamSpec {
  /** Identities (modules of the child edge device) whose messages go upstream. */
  readonly identities: number;
  /** upstream.maxBatchSize on the child: 1 sends one transfer per message. */
  readonly maxBatchSize: number;
}

function identitiesOf(options: ScenarioOptions, spec: UpstreamSpec): SasIdentity[] {
  return benchModules(options.seed, Array.from({ length: spec.identities }, (_, i) => `up${i}`));
}

function deployment(dir: string, name: string, routes: Record<string, string>): string {
  const file = join(dir, name);
  const agent = { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} };
  const hub = { schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } };
  writeFileSync(file, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': agent }, $edgeHub: { 'properties.desired': hub } } }));
  return file;
}

/** outpostSetup of the parent: the child edge device and its modules with the child's keys, `sink`, the route to it. */
export function upstreamParentSetup(dataDir: string, options: ScenarioOptions, spec: UpstreamSpec): readonly string[] {
  const registry = IdentityRegistry.open({ dataDir, edgeDeviceId: PARENT_DEVICE });
  registry.add({ deviceId: PARENT_DEVICE, moduleId: 'sink' });
  const edgeKey = derivedKey(options.seed, BENCH_EDGE_DEVICE);
  registry.add({ deviceId: BENCH_EDGE_DEVICE, edge: true, parentDeviceId: PARENT_DEVICE, authentication: { type: 'sas', primaryKey: edgeKey, secondaryKey: edgeKey } });
  for (const identity of identitiesOf(options, spec)) registry.add({ deviceId: identity.deviceId, moduleId: identity.moduleId!, authentication: { type: 'sas', primaryKey: identity.key, secondaryKey: identity.key } });
  const manifest = deployment(dataDir, 'bench-parent.json', { toSink: `FROM /messages/* INTO BrokeredEndpoint("${SINK_QUEUE}")` });
  return ['--set', `deviceId=${PARENT_DEVICE}`, '--set', `iotHubHostname=${BENCH_IOT_HUB}`, '--deployment', manifest];
}

/** A TCP relay to the parent's AMQP port that refuses connections until opened (a cut link, restored). */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number, private readonly to: number) {}

  static async reserve(to: number): Promise<Relay> {
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    return new Relay(port, to);
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.to, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => this.sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  close(): void {
    this.server?.close();
    for (const socket of this.sockets) socket.destroy();
  }
}

async function queueLength(client: HubControlClient, endpoint: string): Promise<number> {
  // Only the one family: the whole text has series per identity (milliseconds to render at 1,000 identities, every poll).
  const answer = await client.call('GET', '/v1/metrics?name=edgehub_queue_length');
  const text = (answer.body as { text: string }).text;
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('edgehub_queue_length{') && line.includes(`endpoint="${endpoint}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/**
 * The child hub is started here, not by the harness, so --outpost-node-arg and --outpost-arg reach
 * only the parent. These two environment variables (space-separated) reach the child: for
 * profiling it (`--cpu-prof --cpu-prof-dir=…`) and for trying its settings (`--set store.deliveryWindow=4096`).
 */
const wordsOf = (value: string | undefined): string[] => (value === undefined || value.trim() === '' ? [] : value.trim().split(/\s+/));
const childNodeArgs = wordsOf(process.env.OUTPOST_BENCH_CHILD_NODE_ARGS);
const childArgs = wordsOf(process.env.OUTPOST_BENCH_CHILD_ARGS);
/** The child's upstream.fanOutFactor when OUTPOST_BENCH_CHILD_ARGS sets it. */
const childFanOutSet = childArgs.find((arg) => arg.startsWith('upstream.fanOutFactor='))?.split('=')[1];
const THIS_BUILD = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** The child's fan-out: as set, or this build's default when the child is this build; 'default' for another build's (the gate's baseline). */
function childFanOut(childRoot: string | undefined): number | string {
  if (childFanOutSet !== undefined) return Number(childFanOutSet);
  return childRoot === undefined || resolve(childRoot) === THIS_BUILD ? ConfigSchema.properties.upstream.properties.fanOutFactor.default : 'default';
}

export async function runUpstreamDrain(parent: RunningTarget, options: ScenarioOptions, spec: UpstreamSpec, parentDataDir: () => string): Promise<ScenarioOutcome> {
  if (parent.amqpTls === undefined || parent.pid === undefined) throw new Error(`${parent.name}: no AMQP listener known (the upstream scenarios need an Outpost parent the harness started)`);
  const fillSec = options.durationSec ?? (options.quick ? 1 : 6);
  const work = mkdtempSync(join(tmpdir(), 'outpost-bench-upstream-'));
  const caFile = join(work, 'parent-ca.pem');
  writeFileSync(caFile, parent.amqpTls.caPem);
  const relay = await Relay.reserve(parent.amqpTls.port);
  const identities = identitiesOf(options, spec);
  let childDataDir = '';
  const group = new LoadgenGroup('node');
  let child: RunningTarget | undefined;
  try {
    child = await startTarget('outpost', {
      // The parent's build: in the gate, the baseline's child is the baseline's too.
      ...(parent.outpostRoot === undefined ? {} : { outpostRoot: parent.outpostRoot }),
      ...(childNodeArgs.length === 0 ? {} : { outpostNodeArgs: childNodeArgs }),
      outpostSetup: (dataDir) => {
        childDataDir = dataDir;
        registerIdentities(dataDir, identities);
        const manifest = deployment(dataDir, 'bench-child.json', { up: 'FROM /messages/modules/* INTO $upstream' });
        return [...BENCH_HUB_ARGS, '--deployment', manifest, '--set', 'upstream.hostname=localhost', '--set', `upstream.port=${relay.port}`, '--set', `upstream.caFile=${caFile}`, '--set', `upstream.connectionString=HostName=${BENCH_IOT_HUB};DeviceId=${BENCH_EDGE_DEVICE};SharedAccessKey=${derivedKey(options.seed, BENCH_EDGE_DEVICE)}`, '--set', `upstream.maxBatchSize=${spec.maxBatchSize}`, ...childArgs];
      },
    });
    if (child.mqttTls === undefined) throw new Error('the child hub reported no MQTT-over-TLS listener');
    const childControl = new HubControlClient(join(childDataDir, HUB_CONTROL_SOCKET));
    const parentControl = new HubControlClient(join(parentDataDir(), HUB_CONTROL_SOCKET));

    // Fill: module output on the child while its link is cut.
    const credentials = join(work, 'publishers.tsv');
    writeCredentialsFile(credentials, identities.map((m) => loginOf(m)));
    const publisher = group.add('upstream publishers', { role: 'module-publisher', host: child.host, port: child.mqttTls.port, caPem: child.mqttTls.caPem, servername: 'localhost', credentialsFile: credentials, connections: identities.length, payloadBytes: PAYLOAD_BYTES, seed: options.seed, window: Math.max(8, Math.floor(1024 / identities.length)), offeredPerSec: 0 });
    await group.allReady([publisher]);
    group.broadcast({ type: 'start' }, [publisher]);
    await sleep(fillSec * 1000);
    await group.stopAll([publisher]);
    const backlog = await queueLength(childControl, '$upstream');
    if (backlog === 0) throw new Error('nothing queued for $upstream on the child');

    // Restore the link and watch the parent's store take the backlog.
    const window = new MeasuredWindow(parent.pid, child.pid === undefined ? [] : [child.pid]);
    const openedAt = performance.now();
    await relay.open();
    let firstAt: number | undefined;
    let lastAt = openedAt;
    let stored = 0;
    const deadline = openedAt + DRAIN_TIMEOUT_MS;
    while (stored < backlog) {
      if (performance.now() > deadline) throw new Error(`only ${stored} of ${backlog} reached the parent within ${DRAIN_TIMEOUT_MS} ms`);
      const now = await queueLength(parentControl, SINK_QUEUE);
      const at = performance.now();
      if (now > stored) {
        if (firstAt === undefined) firstAt = at;
        lastAt = at;
        stored = now;
      }
      await sleep(firstAt === undefined ? POLL_FIRST_MS : POLL_MS);
    }
    const figures = window.end();
    const drainStartMs = firstAt! - openedAt;
    const drainSec = Math.max((lastAt - firstAt!) / 1000, POLL_MS / 1000);
    const perSec = backlog / drainSec;
    const warnings: string[] = [];
    if (spec.maxBatchSize > 1 && perSec < TARGET_UPSTREAM_PER_SEC) warnings.push(`issue 18's target missed: ${perSec.toFixed(0)} msg/s upstream with batching (target ≥ ${TARGET_UPSTREAM_PER_SEC})`);
    if (drainStartMs >= TARGET_DRAIN_START_MS) warnings.push(`issue 18's target missed: drain started ${drainStartMs.toFixed(0)} ms after the link was restored (target < ${TARGET_DRAIN_START_MS} ms)`);
    if (backlog < perSec * 0.5) warnings.push(`a short drain (${backlog} messages, ${(drainSec * 1000).toFixed(0)} ms): the figure is coarse (polled every ${POLL_MS} ms)`);
    return {
      params: { identities: spec.identities, maxBatchSize: spec.maxBatchSize, fanOutFactor: childFanOut(parent.outpostRoot), payloadBytes: PAYLOAD_BYTES, fillSec, store: 'rocksdb', transport: 'amqp-tls', seed: options.seed, loadgen: 'node' },
      windowSec: figures.windowSec,
      throughput: { value: perSec, unit: 'msg/s', what: 'messages of the child\'s $upstream backlog stored at the parent per second (one multiplexed AMQP connection)' },
      metrics: { backlog, drainStartMs, drainSec, upstreamPerSec: perSec },
      latency: null,
      broker: finalBrokerFigures(figures.broker),
      // The "load generator" of the drain is the child hub: its CPU in the window.
      loadgen: figures.loadgen,
      cpuMicrosPerUnit: { broker: figures.broker === null ? null : (figures.broker.cpuSec * 1e6) / backlog, loadgen: (figures.loadgen.cpuSec * 1e6) / backlog },
      warnings,
    };
  } finally {
    group.killAll();
    relay.close();
    await child?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
