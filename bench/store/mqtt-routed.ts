/**
 * Scenario `mqtt-routed`: durable routed throughput end to end (issue 6): module output → route →
 * module input over MQTT QoS 1 on TLS, through a real hub process (`outpost hub`, its store in
 * RocksDB) with SAS-authenticated module identities.
 *
 * Four publisher modules (one process, hand-built packets) send QoS 1 module output with 256
 * unacknowledged PUBLISHes each; a route sends everything to one module input; the subscriber
 * module (another process) acknowledges each message. Per configuration (store on, store off),
 * after a warm-up:
 *   - max: publishers as fast as PUBACKs allow for 5 s: delivered msg/s, acknowledged msg/s, and
 *     end-to-end latency (publisher timestamp → subscriber) p50/p99;
 *   - paced: a fixed total rate (default 50 000 msg/s) for 5 s: the same figures.
 * The hub's CPU seconds and peak RSS come from /proc. Output: one JSON object on stdout.
 * Everything shares the machine (on the 2-core reference machine: the hub's main thread, its shard
 * workers and RocksDB, and the two load generator processes).
 *
 * Run: npx tsc -p . && node dist/bench/store/mqtt-routed.js [--quick] [--rate 50000] [--store on|off|both]
 *      [--sync none|interval|batch] [--mode max|paced|both]
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Histogram, type HistogramSnapshot } from '../lib/histogram.js';
import { sampleProc } from '../lib/proc-stats.js';
import type { ClientRoleConfig, Identity } from './mqtt-routed-client.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const rate = Number(args[args.indexOf('--rate') + 1] ?? 0) || 50_000;
const storeArg = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'both';
const syncArg = args.includes('--sync') ? args[args.indexOf('--sync') + 1]! : 'interval';
const modeArg = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : 'both';
const WARMUP_MS = quick ? 1_000 : 2_000;
const MEASURE_MS = quick ? 2_000 : 5_000;
const PUBLISHERS = 4;
const WINDOW = 256;
const PAYLOAD = 256;
const EDGE = 'bench-edge';
const HUB = 'benchhub.azure-devices.net';
const BIN = fileURLToPath(new URL('../../../bin/outpost.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('./mqtt-routed-client.js', import.meta.url));

function outpost(dataDir: string, argv: string[]): string {
  const result = spawnSync(process.execPath, [BIN, ...argv, '--data-dir', dataDir], { env: { ...process.env, OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`outpost ${argv.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function identity(dataDir: string, moduleId: string): Identity {
  outpost(dataDir, ['identity', 'add', EDGE, '--module', moduleId]);
  const cs = outpost(dataDir, ['identity', 'connection-string', EDGE, '--module', moduleId]);
  return { deviceId: EDGE, moduleId, key: /SharedAccessKey=([^;\s]+)/.exec(cs)![1]! };
}

async function startHub(dataDir: string, manifest: string, persistent: boolean): Promise<{ child: ChildProcess; port: number; ca: string }> {
  // BENCH_HUB_NODE_ARGS: extra node flags for the hub (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const nodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', manifest], {
    env: { ...process.env, OUTPOST_DEVICE_ID: EDGE, OUTPOST_IOT_HUB_HOSTNAME: HUB, OUTPOST_STORE__PERSISTENT: String(persistent), OUTPOST_STORE__SYNC: syncArg },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as { event?: string; ports?: { mqtt: number }; caFile?: string };
          if (parsed.event === 'hub.ready') resolve({ child, port: parsed.ports!.mqtt, ca: readFileSync(parsed.caFile!, 'utf8') });
        } catch {
          // not JSON
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code})`)));
  });
}

function startClient(config: ClientRoleConfig): Promise<ChildProcess> {
  const child = fork(CLIENT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send(config);
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${config.role} exited (${code})`)));
  });
}

function report<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== 'report') return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.send({ type: 'report' });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function phase(hub: ChildProcess, sub: ChildProcess, pub: ChildProcess) {
  await sleep(WARMUP_MS);
  for (const child of [sub, pub]) child.send({ type: 'mark' });
  const cpu0 = sampleProc(hub.pid!)?.cpuSec ?? 0;
  const loadgen0 = [sub, pub].map((child) => sampleProc(child.pid!)?.cpuSec ?? 0);
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const [s, p] = await Promise.all([report<{ received: number; latency: HistogramSnapshot }>(sub), report<{ acked: number }>(pub)]);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (sampleProc(hub.pid!)?.cpuSec ?? 0) - cpu0;
  const [subCpu, pubCpu] = [sub, pub].map((child, i) => (sampleProc(child.pid!)?.cpuSec ?? 0) - loadgen0[i]!);
  const latency = Histogram.from(s.latency);
  return {
    deliveredPerSec: Math.round(s.received / seconds),
    ackedPerSec: Math.round(p.acked / seconds),
    e2e: { p50Micros: Math.round(latency.quantile(0.5)), p99Micros: Math.round(latency.quantile(0.99)) },
    hubCpuUtilization: Number((cpu / seconds).toFixed(2)),
    /** Load generator processes, cores busy: near 1.0 means the generator may be the bottleneck. */
    publisherCpuUtilization: Number((pubCpu! / seconds).toFixed(2)),
    subscriberCpuUtilization: Number((subCpu! / seconds).toFixed(2)),
    /** Hub CPU (all threads) per delivered message: steadier than rates on a shared machine. */
    hubCpuMicrosPerMessage: s.received === 0 ? null : Number(((cpu * 1e6) / s.received).toFixed(1)),
  };
}

async function run(persistent: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-routed-'));
  const dataDir = join(dir, 'data');
  const manifest = join(dir, 'deployment.json');
  const hubDesired = { schemaVersion: '1.1', routes: { toFilter: 'FROM /messages/modules/* WHERE $connectionModuleId <> \'filter\' INTO BrokeredEndpoint("/modules/filter/inputs/in")' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } };
  writeFileSync(manifest, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} } }, $edgeHub: { 'properties.desired': hubDesired } } }));
  const publishers = Array.from({ length: PUBLISHERS }, (_, i) => identity(dataDir, `sensor${i}`));
  const filter = identity(dataDir, 'filter');
  const results: Record<string, unknown> = { store: persistent ? 'rocksdb' : 'memory', ...(persistent ? { sync: syncArg } : {}) };
  for (const mode of ['max', 'paced'] as const) {
    if (modeArg !== 'both' && modeArg !== mode) continue;
    const hub = await startHub(dataDir, manifest, persistent);
    const base = { port: hub.port, ca: hub.ca, hub: HUB, window: WINDOW, payloadBytes: PAYLOAD };
    const sub = await startClient({ ...base, role: 'subscriber', identities: [filter], rate: 0 });
    const pub = await startClient({ ...base, role: 'publisher', identities: publishers, rate: mode === 'max' ? 0 : rate });
    pub.send({ type: 'start' });
    results[mode] = { ...(mode === 'paced' ? { offeredPerSec: rate } : {}), ...(await phase(hub.child, sub, pub)) };
    results[`${mode}PeakRssBytes`] = sampleProc(hub.child.pid!)?.peakRssBytes;
    for (const child of [pub, sub]) {
      child.send({ type: 'stop' });
      child.kill();
    }
    hub.child.kill('SIGTERM');
    await new Promise((resolve) => hub.child.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
  return results;
}

const configurations = storeArg === 'on' ? [true] : storeArg === 'off' ? [false] : [true, false];
const out = [];
for (const persistent of configurations) out.push(await run(persistent));
process.stdout.write(`${JSON.stringify({ scenario: 'mqtt-routed', publishers: PUBLISHERS, window: WINDOW, payloadBytes: PAYLOAD, measureMs: MEASURE_MS, results: out }, null, 2)}\n`);
