// The AMQP 1.0 flows of the amqp-* scenarios (issue 17), driven by the C generator on Qpid Proton
// (bench/loadgen/amqp-loadgen.c), each connection AMQP over TLS:
//
// - telemetry: one device, one connection, one sending link, at most WINDOW unsettled transfers;
//   throughput = transfers the broker settled `accepted` per second. Outpost: device
//   `bench-sas-<seed>-0` (SASL PLAIN with its SAS token) sends to `/devices/<d>/messages/events`;
//   a route sends device telemetry to the input of module `filter`, which is not connected, so
//   each message is settled only once it is in the store (RocksDB, as in mqtt-routed). An AMQP
//   peer (RabbitMQ): `guest` sends to `/queue/bench-telemetry-<seed>` (declared by the attach), no
//   consumer, transient messages unless `durable` (the peer's fastest case).
// - routed (Outpost only, the AMQP counterpart of mqtt-routed): 4 publisher modules, one process
//   and connection each, send module output (`iothub-outputname` out) with at most 256
//   unsettled each; mqtt-routed's route sends it to the input of module `filter`, whose receiving
//   link (credit 1000) accepts each message. Headline: delivered to the module input per second.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AmqpLoadgenChild, type AmqpLoadgenConfig } from './amqp-loadgen.js';
import { commonWarnings, finalBrokerFigures, MeasuredWindow, mergeHistograms, microsPer, sleep, summarizeLatency } from './measure.js';
import { windowSeconds } from './pubsub.js';
import { BENCH_EDGE_DEVICE, BENCH_HUB_ARGS, BENCH_IOT_HUB, benchDevices, benchModules, clientIdOf, registerIdentities, signSasToken, type SasIdentity } from './sas-devices.js';
import type { RunningTarget } from './targets.js';
import type { PublisherReport, SubscriberReport } from '../loadgen/protocol.js';
import { RABBITMQ_PASSWORD, RABBITMQ_USER } from '../peers/rabbitmq.js';
import type { ScenarioOptions, ScenarioOutcome } from '../scenarios/scenario.js';

export const AMQP_TELEMETRY_TARGETS: readonly string[] = ['outpost', 'rabbitmq'];
export const AMQP_ROUTED_TARGETS: readonly string[] = ['outpost'];
const PUBLISHER_MODULES = ['sensor0', 'sensor1', 'sensor2', 'sensor3'];
const SUBSCRIBER_MODULE = 'filter';
const PAYLOAD_BYTES = 256;
/** Telemetry: unsettled transfers on the one link (Outpost grants amqp.linkCredit, 1000, too). */
const TELEMETRY_WINDOW = 1000;
/** Routed: per publisher module, as mqtt-routed's window. */
const ROUTED_WINDOW = 256;
const SUBSCRIBER_CREDIT = 1000;
const SERVERNAME = 'localhost';
const ROUTES = {
  // Device telemetry waits in the store for a module that never connects: settled once stored.
  telemetryToStore: `FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/${SUBSCRIBER_MODULE}/inputs/telemetry")`,
  // mqtt-routed's route.
  toFilter: `FROM /messages/modules/* WHERE $connectionModuleId <> '${SUBSCRIBER_MODULE}' INTO BrokeredEndpoint("/modules/${SUBSCRIBER_MODULE}/inputs/in")`,
};

function telemetryDevice(seed: number): SasIdentity {
  return benchDevices(seed, 1)[0]!;
}

/** outpostSetup of the amqp-* scenarios: the device, the modules, both routes, the store on RocksDB. */
export function amqpSetup(dataDir: string, options: ScenarioOptions): readonly string[] {
  registerIdentities(dataDir, [telemetryDevice(options.seed), ...benchModules(options.seed, [...PUBLISHER_MODULES, SUBSCRIBER_MODULE])]);
  const manifest = join(dataDir, 'bench-deployment.json');
  const agent = { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} };
  const hub = { schemaVersion: '1.1', routes: ROUTES, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } };
  writeFileSync(manifest, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': agent }, $edgeHub: { 'properties.desired': hub } } }));
  return [...BENCH_HUB_ARGS, '--deployment', manifest, '--set', 'store.persistent=true'];
}

/** SASL PLAIN login of an identity on Outpost: `{device}[/modules/{m}]@sas.{hub}` and its token. */
function plainLogin(identity: SasIdentity): { user: string; password: string } {
  const name = identity.moduleId === undefined ? identity.deviceId : `${identity.deviceId}/modules/${identity.moduleId}`;
  return { user: `${name}@sas.${BENCH_IOT_HUB.split('.')[0]!}`, password: signSasToken(BENCH_IOT_HUB, identity) };
}

function amqpEndpoint(target: RunningTarget, dir: string): Pick<AmqpLoadgenConfig, 'host' | 'port' | 'caFile' | 'servername'> {
  if (target.amqpTls === undefined) throw new Error(`${target.name}: no AMQP-over-TLS listener known (a target the harness started: outpost or rabbitmq)`);
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, target.amqpTls.caPem);
  return { host: target.host, port: target.amqpTls.port, caFile, servername: SERVERNAME };
}

export interface TelemetrySpec {
  /** The header's durable flag (RabbitMQ then writes each message to disk before settling). */
  readonly durable: boolean;
}

export async function runAmqpTelemetry(target: RunningTarget, options: ScenarioOptions, spec: TelemetrySpec): Promise<ScenarioOutcome> {
  const { warmupSec, durationSec } = windowSeconds(options, { warmupSec: 2, durationSec: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-amqp-'));
  const children: AmqpLoadgenChild[] = [];
  try {
    const endpoint = amqpEndpoint(target, dir);
    const device = telemetryDevice(options.seed);
    const login = target.name === 'outpost' ? plainLogin(device) : { user: RABBITMQ_USER, password: RABBITMQ_PASSWORD };
    const address = target.name === 'outpost' ? `/devices/${device.deviceId}/messages/events` : `/queue/bench-telemetry-${options.seed}`;
    const sender = new AmqpLoadgenChild('amqp sender', { role: 'sender', ...endpoint, ...login, address, payloadBytes: PAYLOAD_BYTES, window: TELEMETRY_WINDOW, seed: options.seed, index: 0, durable: spec.durable });
    children.push(sender);
    await sender.waitFor('ready', 30_000);
    sender.send({ type: 'start' });
    await sleep(warmupSec * 1000);
    sender.send({ type: 'mark', phase: 'begin' });
    const window = new MeasuredWindow(target.pid, [sender.pid]);
    await sleep(durationSec * 1000);
    sender.send({ type: 'mark', phase: 'end' });
    const figures = window.end();
    const report = (await sender.report()) as PublisherReport & { refusedTotal?: number };
    const sec = figures.windowSec;
    const acked = report.ackedInWindow;
    const warnings = commonWarnings(figures, acked);
    if ((report.refusedTotal ?? 0) > 0) warnings.push(`${report.refusedTotal} transfers were not accepted (rejected, released or modified)`);
    return {
      params: { connections: 1, window: TELEMETRY_WINDOW, payloadBytes: PAYLOAD_BYTES, durable: spec.durable, address, tls: true, sasl: 'PLAIN', store: target.name === 'outpost' ? 'rocksdb' : spec.durable ? 'disk' : 'memory', warmupSec, durationSec, seed: options.seed, loadgen: 'c-proton' },
      windowSec: sec,
      throughput: { value: acked / sec, unit: 'msg/s', what: 'telemetry transfers settled accepted by the broker, one TLS connection' },
      metrics: { ackedPerSec: acked / sec, sentPerSec: report.sentInWindow / sec, refusedTotal: report.refusedTotal ?? 0 },
      latency: summarizeLatency(mergeHistograms([report.ackLatency])),
      broker: finalBrokerFigures(figures.broker),
      loadgen: figures.loadgen,
      cpuMicrosPerUnit: { broker: microsPer(figures.broker?.cpuSec, acked), loadgen: microsPer(figures.loadgen.cpuSec, acked) },
      warnings,
    };
  } finally {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runAmqpRouted(target: RunningTarget, options: ScenarioOptions): Promise<ScenarioOutcome> {
  const { warmupSec, durationSec } = windowSeconds(options, { warmupSec: 2, durationSec: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-amqp-'));
  const children: AmqpLoadgenChild[] = [];
  try {
    const endpoint = amqpEndpoint(target, dir);
    const [subscriberModule, ...publisherModules] = benchModules(options.seed, [SUBSCRIBER_MODULE, ...PUBLISHER_MODULES]);
    const eventsOf = (m: SasIdentity) => `/devices/${BENCH_EDGE_DEVICE}/modules/${m.moduleId!}/messages/events`;
    const subscriber = new AmqpLoadgenChild('amqp module subscriber', { role: 'receiver', ...endpoint, ...plainLogin(subscriberModule!), address: eventsOf(subscriberModule!), payloadBytes: PAYLOAD_BYTES, credit: SUBSCRIBER_CREDIT });
    children.push(subscriber);
    await subscriber.waitFor('ready', 30_000);
    const publishers = publisherModules.map((m, index) => new AmqpLoadgenChild(`amqp module publisher ${clientIdOf(m)}`, { role: 'sender', ...endpoint, ...plainLogin(m), address: eventsOf(m), payloadBytes: PAYLOAD_BYTES, window: ROUTED_WINDOW, seed: options.seed, index, outputName: 'out' }));
    children.push(...publishers);
    await Promise.all(publishers.map((p) => p.waitFor('ready', 30_000)));
    for (const p of publishers) p.send({ type: 'start' });
    await sleep(warmupSec * 1000);
    for (const c of children) c.send({ type: 'mark', phase: 'begin' });
    const window = new MeasuredWindow(target.pid, children.map((c) => c.pid));
    await sleep(durationSec * 1000);
    for (const c of children) c.send({ type: 'mark', phase: 'end' });
    const figures = window.end();
    const pubReports = (await Promise.all(publishers.map((p) => p.report()))) as Array<PublisherReport & { refusedTotal?: number }>;
    await sleep(200);
    const subReport = (await subscriber.report()) as SubscriberReport;
    const sec = figures.windowSec;
    const delivered = subReport.receivedInWindow;
    const acked = pubReports.reduce((sum, r) => sum + r.ackedInWindow, 0);
    const refused = pubReports.reduce((sum, r) => sum + (r.refusedTotal ?? 0), 0);
    const warnings = commonWarnings(figures, delivered);
    if (delivered < 0.9 * acked) warnings.push(`the subscriber module falls behind: ${(delivered / sec).toFixed(0)} delivered/s vs ${(acked / sec).toFixed(0)} accepted/s`);
    if (refused > 0) warnings.push(`${refused} transfers were not accepted`);
    const ackLatency = summarizeLatency(mergeHistograms(pubReports.map((r) => r.ackLatency)));
    return {
      params: { store: 'rocksdb', mode: 'closed-loop', publisherModules: publishers.length, window: ROUTED_WINDOW, subscriberCredit: SUBSCRIBER_CREDIT, payloadBytes: PAYLOAD_BYTES, tls: true, sasl: 'PLAIN', warmupSec, durationSec, seed: options.seed, loadgen: 'c-proton' },
      windowSec: sec,
      throughput: { value: delivered / sec, unit: 'msg/s', what: 'module output messages routed and delivered to the module input, over AMQP' },
      metrics: { deliveredPerSec: delivered / sec, ackedPerSec: acked / sec, deliveredToAckedRatio: acked > 0 ? delivered / acked : null, ackP50Micros: ackLatency?.p50Micros ?? null, ackP99Micros: ackLatency?.p99Micros ?? null, refusedTotal: refused },
      latency: summarizeLatency(mergeHistograms([subReport.latency])),
      broker: finalBrokerFigures(figures.broker),
      loadgen: figures.loadgen,
      cpuMicrosPerUnit: { broker: microsPer(figures.broker?.cpuSec, delivered), loadgen: microsPer(figures.loadgen.cpuSec, delivered) },
      warnings,
    };
  } finally {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
