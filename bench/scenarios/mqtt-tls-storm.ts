// mqtt-tls-storm — the connection storm over TLS, as gateways take it on 8883 (issue 20):
// 5,000 MQTT 3.1.1 clients (--clients 20000 for the large one; clean session, keep-alive 60 s,
// 2 C load generator processes, at most 25 awaiting CONNACK each, as mqtt-connect-storm) each do a
// TCP connect, a TLS handshake (verifying the server against the target's CA; no client
// certificate) and CONNECT → CONNACK. Outpost: its MQTT-over-TLS listener (development CA, EC
// P-256; it asks every client for a certificate); Mosquitto: the harness's TLS listener with a CA
// and server certificate made the same way (bench/lib/targets.ts; it asks for none).
//
// Every client authenticates as it would on a gateway: an IoT Hub device of the hub's registry with
// a SAS token (bench/lib/sas-devices.ts, as mqtt-auth-storm; Outpost takes anonymous clients only
// on its plain listener); Mosquitto accepts any user name and password as configured here.
//
// Two measured storms of the same clients, one after the other:
//   - full: no client presents a session, so every handshake is a full one (ECDHE + the server's
//     signature); the clients keep the session tickets the server hands out;
//   - resumed: the same clients reconnect presenting those tickets, as devices do after a network
//     cut (the server decides; `resumed` counts the handshakes it accepted as resumptions).
// Before them, an unmeasured full-handshake storm of the same clients warms the broker up and fills
// Outpost's token cache, so every measured connect is a cached-token reconnect (as in
// mqtt-auth-storm) and the two measured storms differ only in the handshake. All clients
// disconnect after each storm and the broker is let go quiet before the next one.
//
// Measures, per storm: connections accepted per second (first TCP connect to last CONNACK), TCP
// connect → CONNACK latency, broker CPU per connection. Headline: the full-handshake storm.
// The broker's open-file limit is raised for the storm when it is too low (bench/lib/fd-limit.ts).
// Run: npm run bench -- mqtt-tls-storm [--target outpost|mosquitto] [--quick] [--clients N]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOpenFiles } from '../lib/fd-limit.js';
import { connectionLimitArgs } from './mqtt-connect-storm.js';
import { BENCH_HUB_ARGS, benchDevices, loginOf, registerIdentities } from '../lib/sas-devices.js';
import { finalBrokerFigures, microsPer, summarizeLatency } from '../lib/measure.js';
import { brokerQuiet, stormOnce, type StormFigures, type StormSpec } from '../lib/storm-load.js';
import type { Scenario, ScenarioOptions } from './scenario.js';

const CLIENTS = 5000;
const QUICK_CLIENTS = 1000;
const PROCESSES = 2;
const CONCURRENCY_PER_PROCESS = 25;
const KEEP_ALIVE_SEC = 60;
/** Deadline of a whole storm: 180 s, or 20 ms per client for large storms on a loaded machine. */
const STORM_TIMEOUT_MS = 180_000;
const STORM_TIMEOUT_MS_PER_CLIENT = 20;
/** How long the broker may take to finish closing a storm's connections before the next one. */
const QUIET_DEADLINE_MS = 20_000;

export const mqttTlsStorm: Scenario = {
  name: 'mqtt-tls-storm',
  description: '5,000 clients connect over TLS (8883): full handshakes, then the same clients resuming with session tickets',
  // Targets the harness starts with a TLS listener; an outside host:port has none it knows of.
  targets: ['outpost', 'mosquitto'],
  outpostSetup(dataDir, options) {
    registerIdentities(dataDir, benchDevices(options.seed, clientsOf(options)));
    return [...BENCH_HUB_ARGS, ...connectionLimitArgs(clientsOf(options))];
  },
  async run(target, options) {
    if (target.mqttTls === undefined) throw new Error(`${target.name} has no MQTT-over-TLS listener the harness knows of`);
    if (options.loadgen !== 'c') throw new Error('mqtt-tls-storm needs the C load generator (--loadgen c)');
    const clients = clientsOf(options);
    const logins = benchDevices(options.seed, clients).map((device) => loginOf(device));
    const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-tls-storm-'));
    try {
      const warnings: string[] = [];
      const fdWarning = ensureOpenFiles(target.pid, clients);
      if (fdWarning !== undefined) warnings.push(fdWarning);
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, target.mqttTls.caPem);
      const tls = { port: target.mqttTls.port, caFile };
      const spec = (prefix: string, extra: Partial<StormSpec['tls']> = {}): StormSpec => ({
        clients,
        logins,
        processes: PROCESSES,
        concurrencyPerProcess: CONCURRENCY_PER_PROCESS,
        keepAliveSec: KEEP_ALIVE_SEC,
        clientIdPrefix: prefix,
        seed: options.seed,
        timeoutMs: Math.max(STORM_TIMEOUT_MS, clients * STORM_TIMEOUT_MS_PER_CLIENT),
        tls: { ...tls, ...extra },
      });
      const quiet = async (): Promise<void> => {
        if (!(await brokerQuiet(target.pid, QUIET_DEADLINE_MS))) warnings.push('the broker did not go quiet between storms');
      };

      const prefix = `bench-tls-storm-${options.seed}`;
      const warmup = await stormOnce(target, options.loadgen, spec(prefix));
      if (warmup.failed > 0) throw new Error(`TLS warm-up storm: ${warmup.failed} of ${clients} connections failed (first: ${warmup.firstError ?? 'unknown'})`);
      await quiet();
      const full = await stormOnce(target, options.loadgen, spec(prefix, { sessionsDir: dir }));
      await quiet();
      const resumed = await stormOnce(target, options.loadgen, spec(prefix, { sessionsDir: dir, resume: true }));
      for (const storm of [full, resumed]) warnings.push(...storm.warnings);
      if (full.failed > 0 || resumed.failed > 0) throw new Error(`TLS storm: ${full.failed} + ${resumed.failed} connections failed (first: ${full.firstError ?? resumed.firstError ?? 'unknown'})`);
      if ((resumed.resumed ?? 0) < resumed.connected) warnings.push(`${resumed.connected - (resumed.resumed ?? 0)} of ${resumed.connected} reconnecting clients did a full handshake (ticket refused)`);

      const cpuPerConn = (s: StormFigures): number | null => microsPer(s.window.broker?.cpuSec, s.connected);
      return {
        params: { clients, processes: PROCESSES, concurrencyPerProcess: CONCURRENCY_PER_PROCESS, keepAliveSec: KEEP_ALIVE_SEC, seed: options.seed, loadgen: options.loadgen },
        windowSec: full.stormSec,
        throughput: { value: full.connPerSec, unit: 'conn/s', what: 'TLS connections accepted (full handshake, CONNACK 0) per second' },
        metrics: {
          connected: full.connected,
          resumedConnPerSec: resumed.connPerSec,
          resumedOverFull: resumed.connPerSec / full.connPerSec,
          resumedHandshakes: resumed.resumed,
          fullHandshakesResumed: full.resumed,
          fullP99Micros: summarizeLatency(full.latency)?.p99Micros ?? null,
          resumedP50Micros: summarizeLatency(resumed.latency)?.p50Micros ?? null,
          resumedP99Micros: summarizeLatency(resumed.latency)?.p99Micros ?? null,
          fullBrokerCpuMicrosPerConn: cpuPerConn(full),
          resumedBrokerCpuMicrosPerConn: cpuPerConn(resumed),
          resumedLoadgenCpuMicrosPerConn: microsPer(resumed.window.loadgen.cpuSec, resumed.connected),
          listenDrops: (full.listenDrops ?? 0) + (resumed.listenDrops ?? 0),
          synRetransmits: (full.synRetransmits ?? 0) + (resumed.synRetransmits ?? 0),
        },
        latency: summarizeLatency(full.latency),
        broker: finalBrokerFigures(full.window.broker),
        loadgen: full.window.loadgen,
        cpuMicrosPerUnit: { broker: cpuPerConn(full), loadgen: microsPer(full.window.loadgen.cpuSec, full.connected) },
        warnings: [...new Set(warnings)],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};


function clientsOf(options: ScenarioOptions): number {
  return options.clients ?? (options.quick ? QUICK_CLIENTS : CLIENTS);
}
