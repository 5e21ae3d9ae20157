// The routed flow shared by the mqtt-routed* scenarios (issue 6): IoT Hub modules over MQTT 3.1.1
// QoS 1 on TLS with SAS tokens, module output → route → module input through a real Outpost hub,
// with its store on RocksDB or in memory. Four publisher modules (one Node generator process:
// TLS is not in the C one) each keep up to 256 PUBLISHes awaiting PUBACK, closed loop or open
// loop at a fixed offered rate; one route (`FROM /messages/modules/* WHERE $connectionModuleId <>
// 'filter' INTO BrokeredEndpoint("/modules/filter/inputs/in")`) sends everything to the input of
// the subscriber module `filter` (a second process), which acknowledges each message.
// The hub acknowledges a PUBLISH only once its shard has the message (in RocksDB's write-ahead
// log with the store on), so acknowledged/s is durable throughput; delivered/s is what reached the
// subscriber module.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadgenGroup } from './children.js';
import { commonWarnings, finalBrokerFigures, MeasuredWindow, mergeHistograms, microsPer, sleep, summarizeLatency } from './measure.js';
import { windowSeconds } from './pubsub.js';
import { BENCH_HUB_ARGS, benchModules, loginOf, registerIdentities, writeCredentialsFile } from './sas-devices.js';
import type { RunningTarget } from './targets.js';
import type { PublisherReport, SubscriberReport } from '../loadgen/protocol.js';
import type { ScenarioOptions, ScenarioOutcome } from '../scenarios/scenario.js';

export const ROUTED_TARGETS: readonly string[] = ['outpost'];
const PUBLISHER_MODULES = ['sensor0', 'sensor1', 'sensor2', 'sensor3'];
const SUBSCRIBER_MODULE = 'filter';
const WINDOW = 256;
const PAYLOAD_BYTES = 256;
const ROUTE = `FROM /messages/modules/* WHERE $connectionModuleId <> '${SUBSCRIBER_MODULE}' INTO BrokeredEndpoint("/modules/${SUBSCRIBER_MODULE}/inputs/in")`;
/** The development certificate's name for this machine's loopback. */
const SERVERNAME = 'localhost';
/** Issue 6: durable routed throughput and latency targets. */
const TARGET_DURABLE_PER_SEC = 100_000;
const TARGET_P99_MICROS = 20_000;

export interface RoutedSpec {
  /** store.persistent: RocksDB (true) or the in-memory store. */
  readonly persistent: boolean;
  /** 0: closed loop; otherwise the offered rate, messages per second over all publishers. */
  readonly offeredPerSec: number;
  /** Both module clients over MQTT over WebSocket on the HTTPS listener (mqtt-routed-ws); default MQTT over TLS. */
  readonly websocket?: boolean;
}

/** Where the Azure IoT SDKs' MqttWs transport opens its WebSocket. */
const WEBSOCKET_PATH = '/$iothub/websocket';

/** outpostSetup of the routed scenarios: module identities, the route in a deployment, the store. */
export function routedSetup(dataDir: string, options: ScenarioOptions, spec: RoutedSpec): readonly string[] {
  registerIdentities(dataDir, benchModules(options.seed, [...PUBLISHER_MODULES, SUBSCRIBER_MODULE]));
  const manifest = join(dataDir, 'bench-deployment.json');
  const agent = { schemaVersion: '1.1', runtime: { type: 'docker', settings: {} }, systemModules: {}, modules: {} };
  const hub = { schemaVersion: '1.1', routes: { toFilter: ROUTE }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } };
  writeFileSync(manifest, JSON.stringify({ modulesContent: { $edgeAgent: { 'properties.desired': agent }, $edgeHub: { 'properties.desired': hub } } }));
  return [...BENCH_HUB_ARGS, '--deployment', manifest, '--set', `store.persistent=${spec.persistent}`];
}

export async function runRouted(target: RunningTarget, options: ScenarioOptions, spec: RoutedSpec): Promise<ScenarioOutcome> {
  const listener = spec.websocket === true ? target.httpsTls : target.mqttTls;
  if (listener === undefined) throw new Error(`${target.name}: no ${spec.websocket === true ? 'HTTPS' : 'MQTT-over-TLS'} listener known (the routed scenarios need an Outpost hub the harness started)`);
  const { warmupSec, durationSec } = windowSeconds(options, { warmupSec: 2, durationSec: 5 });
  const endpoint = { host: target.host, port: listener.port, caPem: listener.caPem, servername: SERVERNAME, ...(spec.websocket === true ? { websocketPath: WEBSOCKET_PATH } : {}) };
  const credentialsDir = mkdtempSync(join(tmpdir(), 'outpost-bench-modules-'));
  const group = new LoadgenGroup('node');
  try {
    const [subscriberModule, ...publisherModules] = benchModules(options.seed, [SUBSCRIBER_MODULE, ...PUBLISHER_MODULES]).map((m) => loginOf(m));
    const subscriberFile = join(credentialsDir, 'subscriber.tsv');
    const publisherFile = join(credentialsDir, 'publishers.tsv');
    writeCredentialsFile(subscriberFile, [subscriberModule!]);
    writeCredentialsFile(publisherFile, publisherModules);
    const subscriber = group.add('module subscriber', { role: 'module-subscriber', ...endpoint, credentialsFile: subscriberFile });
    await group.allReady([subscriber]);
    const publisher = group.add('module publishers', {
      role: 'module-publisher',
      ...endpoint,
      credentialsFile: publisherFile,
      connections: publisherModules.length,
      payloadBytes: PAYLOAD_BYTES,
      seed: options.seed,
      window: WINDOW,
      offeredPerSec: spec.offeredPerSec,
    });
    await group.allReady([publisher]);

    group.broadcast({ type: 'start' }, [publisher]);
    await sleep(warmupSec * 1000);
    group.broadcast({ type: 'mark', phase: 'begin' });
    const window = new MeasuredWindow(target.pid, group.pids);
    await sleep(durationSec * 1000);
    group.broadcast({ type: 'mark', phase: 'end' });
    const figures = window.end();
    const [pubReport] = (await group.stopAll([publisher])) as PublisherReport[];
    // Let what is on its way reach the subscriber before it disconnects (not counted).
    await sleep(200);
    const [subReport] = (await group.stopAll([subscriber])) as SubscriberReport[];

    const sec = figures.windowSec;
    const delivered = subReport!.receivedInWindow;
    const acked = pubReport!.ackedInWindow;
    const latency = summarizeLatency(mergeHistograms([subReport!.latency]));
    const ackLatency = summarizeLatency(mergeHistograms([pubReport!.ackLatency]));
    const sendLag = pubReport!.sendLag === undefined ? null : summarizeLatency(mergeHistograms([pubReport!.sendLag]));
    const warnings = commonWarnings(figures, delivered);
    if (delivered < 0.9 * acked) warnings.push(`the subscriber module falls behind: ${(delivered / sec).toFixed(0)} delivered/s vs ${(acked / sec).toFixed(0)} acknowledged/s`);
    const backlog = pubReport!.backlogAtEnd ?? 0;
    if (spec.offeredPerSec > 0) {
      if (backlog > spec.offeredPerSec * 0.01) warnings.push(`the hub did not keep up with ${spec.offeredPerSec} msg/s offered: ${backlog} messages due but not yet sent at the end of the window`);
      if (latency !== null && latency.p99Micros >= TARGET_P99_MICROS) warnings.push(`issue 6's target missed: p99 end to end ${(latency.p99Micros / 1000).toFixed(1)} ms at ${spec.offeredPerSec} msg/s offered (target < ${TARGET_P99_MICROS / 1000} ms)`);
    } else if (spec.persistent && acked / sec < TARGET_DURABLE_PER_SEC) {
      warnings.push(`issue 6's target missed: ${(acked / sec).toFixed(0)} durable msg/s acknowledged (target ≥ ${TARGET_DURABLE_PER_SEC})`);
    }

    return {
      params: {
        store: spec.persistent ? 'rocksdb' : 'memory',
        mode: spec.offeredPerSec > 0 ? 'open-loop' : 'closed-loop',
        transport: spec.websocket === true ? 'mqtt-websocket-tls' : 'mqtt-tls',
        offeredPerSec: spec.offeredPerSec,
        publisherModules: publisherModules.length,
        window: WINDOW,
        payloadBytes: PAYLOAD_BYTES,
        warmupSec,
        durationSec,
        seed: options.seed,
        loadgen: 'node',
      },
      windowSec: sec,
      throughput: { value: delivered / sec, unit: 'msg/s', what: 'module output messages routed and delivered to the module input' },
      metrics: {
        deliveredPerSec: delivered / sec,
        ackedPerSec: acked / sec,
        publishedPerSec: pubReport!.sentInWindow / sec,
        offeredPerSec: spec.offeredPerSec > 0 ? spec.offeredPerSec : null,
        backlogAtBegin: spec.offeredPerSec > 0 ? (pubReport!.backlogAtBegin ?? 0) : null,
        backlogAtEnd: spec.offeredPerSec > 0 ? backlog : null,
        // Open loop: how late the generator wrote messages (its timer and scheduling, and waits
        // for a window slot); end-to-end latency includes this.
        sendLagP50Micros: sendLag?.p50Micros ?? null,
        sendLagP99Micros: sendLag?.p99Micros ?? null,
        heldByWindowShare: pubReport!.heldByWindow === undefined || pubReport!.sentInWindow === 0 ? null : pubReport!.heldByWindow / pubReport!.sentInWindow,
        deliveredToAckedRatio: acked > 0 ? delivered / acked : null,
        ackP50Micros: ackLatency?.p50Micros ?? null,
        ackP99Micros: ackLatency?.p99Micros ?? null,
      },
      latency,
      broker: finalBrokerFigures(figures.broker),
      loadgen: figures.loadgen,
      cpuMicrosPerUnit: { broker: microsPer(figures.broker?.cpuSec, delivered), loadgen: microsPer(figures.loadgen.cpuSec, delivered) },
      warnings,
    };
  } finally {
    group.killAll();
    rmSync(credentialsDir, { recursive: true, force: true });
  }
}
