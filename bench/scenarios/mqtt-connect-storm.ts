// mqtt-connect-storm — 5,000 MQTT 3.1.1 clients (clean session, keep-alive 60 s) connect as fast
// as the broker accepts them, from 2 load generator processes with at most 25 CONNECTs awaiting
// CONNACK each; then all stay connected and idle.
//
// Measures: connections accepted per second (first TCP connect to last CONNACK; headline), TCP
// connect → CONNACK latency p50/p99, the broker's resident memory per idle connection (RSS once all
// are connected and a settle pause has passed, minus RSS before the storm, divided by the
// connections), peak RSS, and CPU per connection of the broker and of the load generator.
// Every target first takes an unmeasured warm-up storm as large as the measured one (at least
// 1,000 connections, at most 5,000; connected, then closed), so a JIT-compiled broker is measured
// warm, as it would be after minutes in service, and its heap has grown to what such a storm
// needs: a hub that gave its young generation back while idle (docs/benchmarks.md, "Where the idle
// memory goes") would otherwise count the regrowth as memory per connection.
// Run: npm run bench -- mqtt-connect-storm [--target outpost|mosquitto|aedes|host:port] [--quick] [--clients N]
import { ensureOpenFiles } from '../lib/fd-limit.js';
import { finalBrokerFigures, microsPer, sleep, summarizeLatency } from '../lib/measure.js';
import { sampleProc } from '../lib/proc-stats.js';
import { StormLoad, stormOnce, type StormSpec } from '../lib/storm-load.js';
import type { Scenario, ScenarioOptions } from './scenario.js';

const CLIENTS = 5000;
const QUICK_CLIENTS = 1000;
const PROCESSES = 2;
const CONCURRENCY_PER_PROCESS = 25;
const KEEP_ALIVE_SEC = 60;
const STORM_TIMEOUT_MS = 120_000;
const WARMUP_MIN_CLIENTS = 1000;
const WARMUP_MAX_CLIENTS = 5000;

export const mqttConnectStorm: Scenario = {
  name: 'mqtt-connect-storm',
  description: '5,000 clients connect (CONNECT → CONNACK): connections/s and idle RSS per connection',
  // Outpost refuses clients beyond maxConnectedClients (default 10,000); Mosquitto runs with
  // max_connections -1. A storm larger than the default raises it, as an operator would.
  outpostSetup(_dataDir, options) {
    return connectionLimitArgs(options.clients ?? 0);
  },
  async run(target, options) {
    const clients = options.clients ?? (options.quick ? QUICK_CLIENTS : CLIENTS);
    const settleMs = options.quick ? 500 : 1500;
    // 20,000 clients need more descriptors than this machine's default limit (bench/lib/fd-limit.ts).
    const fdWarning = ensureOpenFiles(target.pid, clients);
    // One unmeasured storm, connected and then closed, before the measured one.
    const warmup = Math.min(Math.max(clients, WARMUP_MIN_CLIENTS), WARMUP_MAX_CLIENTS);
    await stormOnce(target, options.loadgen, { ...stormSpec(options, warmup, `bench-warmup-${options.seed}`), processes: 1 });
    const load = await StormLoad.start(target, options.loadgen, stormSpec(options, clients, `bench-storm-${options.seed}`));
    try {
      const rssBefore = target.pid === undefined ? undefined : sampleProc(target.pid)?.rssBytes;
      const storm = await load.connect();
      await sleep(settleMs);
      const rssIdle = target.pid === undefined ? undefined : sampleProc(target.pid)?.rssBytes;
      const warnings = [...(fdWarning === undefined ? [] : [fdWarning]), ...storm.warnings];
      if (!(await load.disconnect())) warnings.push('not every storm process reported at stop');
      const { connected, window: figures } = storm;
      const idleBytesPerConnection = rssBefore !== undefined && rssIdle !== undefined && connected > 0 ? (rssIdle - rssBefore) / connected : null;

      return {
        params: { clients, warmupClients: warmup, processes: PROCESSES, concurrencyPerProcess: CONCURRENCY_PER_PROCESS, keepAliveSec: KEEP_ALIVE_SEC, settleMs, seed: options.seed, loadgen: options.loadgen },
        windowSec: storm.stormSec,
        throughput: { value: storm.connPerSec, unit: 'conn/s', what: 'connections accepted (CONNACK 0) per second' },
        metrics: {
          connected,
          failed: storm.failed,
          rssBeforeBytes: rssBefore ?? null,
          rssIdleBytes: rssIdle ?? null,
          idleBytesPerConnection,
          listenDrops: storm.listenDrops,
          synRetransmits: storm.synRetransmits,
        },
        latency: summarizeLatency(storm.latency),
        broker: finalBrokerFigures(figures.broker),
        loadgen: figures.loadgen,
        cpuMicrosPerUnit: { broker: microsPer(figures.broker?.cpuSec, connected), loadgen: microsPer(figures.loadgen.cpuSec, connected) },
        warnings,
      };
    } finally {
      load.kill();
    }
  },
};

/** `outpost hub` arguments that let `clients` connect at once (none when the default suffices). */
export function connectionLimitArgs(clients: number): string[] {
  const DEFAULT_MAX_CONNECTED_CLIENTS = 10_000;
  return clients < DEFAULT_MAX_CONNECTED_CLIENTS ? [] : ['--set', `maxConnectedClients=${clients + 100}`];
}

function stormSpec(options: ScenarioOptions, clients: number, clientIdPrefix: string): StormSpec {
  return { clients, processes: PROCESSES, concurrencyPerProcess: CONCURRENCY_PER_PROCESS, keepAliveSec: KEEP_ALIVE_SEC, clientIdPrefix, seed: options.seed, timeoutMs: STORM_TIMEOUT_MS };
}
