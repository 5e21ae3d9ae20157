// mqtt-connect-storm — 5,000 MQTT 3.1.1 clients (clean session, keep-alive 60 s) connect as fast
// as the broker accepts them, from 2 load generator processes with at most 64 CONNECTs awaiting
// CONNACK each; then all stay connected and idle.
//
// Measures: connections accepted per second (first TCP connect to last CONNACK; headline), TCP
// connect → CONNACK latency p50/p99, the broker's resident memory per idle connection (RSS once all
// are connected and a settle pause has passed, minus RSS before the storm, divided by the
// connections), peak RSS, and CPU per connection of the broker and of the load generator.
// Every target first takes an unmeasured warm-up storm of 1,000 connections (connected, then
// closed), so a JIT-compiled broker is measured warm, as it would be after minutes in service.
// Run: npm run bench -- mqtt-connect-storm [--target outpost|mosquitto|aedes|host:port] [--quick] [--clients N]
import { LoadgenGroup } from '../lib/children.js';
import { commonWarnings, finalBrokerFigures, MeasuredWindow, mergeHistograms, microsPer, sleep, summarizeLatency } from '../lib/measure.js';
import { sampleProc, tcpCounters } from '../lib/proc-stats.js';
import type { StormReport } from '../loadgen/protocol.js';
import type { BrokerScenario, Scenario } from './scenario.js';

const CLIENTS = 5000;
const QUICK_CLIENTS = 1000;
const PROCESSES = 2;
const CONCURRENCY_PER_PROCESS = 25;
const KEEP_ALIVE_SEC = 60;
const STORM_TIMEOUT_MS = 120_000;
const WARMUP_CLIENTS = 1000;

export const mqttConnectStorm: Scenario = {
  name: 'mqtt-connect-storm',
  description: '5,000 clients connect (CONNECT → CONNACK): connections/s and idle RSS per connection',
  async run(target, options) {
    const clients = options.clients ?? (options.quick ? QUICK_CLIENTS : CLIENTS);
    const settleMs = options.quick ? 500 : 1500;
    await warmUp(target, options);
    const group = new LoadgenGroup(options.loadgen);
    try {
      const storms = [];
      for (let p = 0; p < PROCESSES; p++) {
        const share = Math.floor(clients / PROCESSES) + (p < clients % PROCESSES ? 1 : 0);
        storms.push(
          group.add(`storm ${p}`, {
            role: 'storm',
            host: target.host,
            port: target.port,
            clientIdPrefix: `bench-storm-${options.seed}-${p}`,
            clients: share,
            concurrency: CONCURRENCY_PER_PROCESS,
            keepAliveSec: KEEP_ALIVE_SEC,
            seed: options.seed + p,
          }),
        );
      }
      await group.allReady(storms);
      const rssBefore = target.pid === undefined ? undefined : sampleProc(target.pid)?.rssBytes;

      const tcpBefore = tcpCounters();
      const window = new MeasuredWindow(target.pid, group.pids);
      group.broadcast({ type: 'start' });
      const connectedReports = await group.connectedAll(storms, STORM_TIMEOUT_MS);
      const figures = window.end();
      const tcpAfter = tcpCounters();
      const listenDrops = tcpBefore && tcpAfter ? tcpAfter.listenDrops - tcpBefore.listenDrops : null;
      const synRetrans = tcpBefore && tcpAfter ? tcpAfter.synRetrans - tcpBefore.synRetrans : null;

      await sleep(settleMs);
      const rssIdle = target.pid === undefined ? undefined : sampleProc(target.pid)?.rssBytes;
      const stopReports = (await group.stopAll(storms, 30_000)) as StormReport[];

      const connected = connectedReports.reduce((n, r) => n + r.connected, 0);
      const failed = connectedReports.reduce((n, r) => n + r.failed, 0);
      const firstError = connectedReports.find((r) => r.firstError !== null)?.firstError ?? null;
      const started = Math.min(...connectedReports.map((r) => r.startedAtMicros));
      const finished = Math.max(...connectedReports.map((r) => r.finishedAtMicros));
      const stormSec = (finished - started) / 1e6;
      const idleBytesPerConnection = rssBefore !== undefined && rssIdle !== undefined && connected > 0 ? (rssIdle - rssBefore) / connected : null;

      const warnings = commonWarnings(figures, connected);
      if (failed > 0) warnings.push(`${failed} of ${clients} connections failed (first: ${firstError ?? 'unknown'})`);
      if ((listenDrops ?? 0) > 0 || (synRetrans ?? 0) > 0) {
        warnings.push(`TCP listen-queue drops ${listenDrops ?? '?'}, SYN retransmissions ${synRetrans ?? '?'} during the storm: some connections waited for a retransmission timer`);
      }
      if (stopReports.length !== storms.length) warnings.push('not every storm process reported at stop');

      return {
        params: { clients, processes: PROCESSES, concurrencyPerProcess: CONCURRENCY_PER_PROCESS, keepAliveSec: KEEP_ALIVE_SEC, settleMs, seed: options.seed, loadgen: options.loadgen },
        windowSec: stormSec,
        throughput: { value: connected / stormSec, unit: 'conn/s', what: 'connections accepted (CONNACK 0) per second' },
        metrics: {
          connected,
          failed,
          rssBeforeBytes: rssBefore ?? null,
          rssIdleBytes: rssIdle ?? null,
          idleBytesPerConnection,
          listenDrops,
          synRetransmits: synRetrans,
        },
        latency: summarizeLatency(mergeHistograms(connectedReports.map((r) => r.connectLatency))),
        broker: finalBrokerFigures(figures.broker),
        loadgen: figures.loadgen,
        cpuMicrosPerUnit: { broker: microsPer(figures.broker?.cpuSec, connected), loadgen: microsPer(figures.loadgen.cpuSec, connected) },
        warnings,
      };
    } finally {
      group.killAll();
    }
  },
};

/** One unmeasured storm, connected and then closed, before the measured one. */
async function warmUp(target: Parameters<BrokerScenario['run']>[0], options: Parameters<BrokerScenario['run']>[1]): Promise<void> {
  const group = new LoadgenGroup(options.loadgen);
  try {
    const storm = group.add('storm warm-up', {
      role: 'storm',
      host: target.host,
      port: target.port,
      clientIdPrefix: `bench-warmup-${options.seed}`,
      clients: WARMUP_CLIENTS,
      concurrency: CONCURRENCY_PER_PROCESS,
      keepAliveSec: KEEP_ALIVE_SEC,
      seed: options.seed,
    });
    await group.allReady([storm]);
    group.broadcast({ type: 'start' });
    await group.connectedAll([storm], STORM_TIMEOUT_MS);
    await group.stopAll([storm], 30_000);
  } finally {
    group.killAll();
  }
}
