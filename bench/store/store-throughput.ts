/**
 * Scenario `store-throughput`: durable routed throughput of the message store at its own interface
 * (issue 6), in-process: real shard workers (Piscina, one thread per shard), real RocksDB, real
 * route evaluation. No network: it isolates the store from MQTT (the end-to-end MQTT figures come
 * from the mqtt-routed* scenarios: `npm run bench -- mqtt-routed`).
 *
 * Flow: 64 sources (50 devices, 14 module outputs) submit messages (256-byte body, 3 properties)
 * with 4096 submits outstanding (many QoS 1 clients); a route sends each to one module input; the
 * target acknowledges every delivery on the next event-loop turn (a module keeping up). Measured
 * over 5 s after a 1 s warm-up, per variant:
 *   - msgPerSec: messages acknowledged to their senders (in the WAL) per second; deliveredPerSec;
 *   - submit p50/p99: submit → acknowledgement to the sender (the store's PUBACK latency);
 *   - e2e p50/p99: submit → delivered to the module input;
 *   - paced: the same at a fixed offered rate (default 50 000 msg/s), for latency under load.
 * Variants: rocksdb with store.sync none / interval (1 s) / batch (fsync before acknowledging),
 * and memory (UsePersistentStorage=false). Output: one JSON object on stdout.
 *
 * Run: npx tsc -p . && node dist/bench/store/store-throughput.js [--quick] [--rate 50000] [--shards N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log/index.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import { MessageStore, STORE_TUNING, defaultShardCount, type StoreOptions, type SyncMode } from '../../src/hub/store/index.js';
import { Histogram } from '../lib/histogram.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const rate = Number(args[args.indexOf('--rate') + 1] ?? 0) || 50_000;
const shards = Number(args[args.indexOf('--shards') + 1] ?? 0) || defaultShardCount();
const WARMUP_MS = quick ? 300 : 1_000;
const MEASURE_MS = quick ? 1_500 : 5_000;
const OUTSTANDING = 4096;
const SOURCES = 64;
const BODY = Buffer.alloc(256, 0x61);

interface Variant {
  readonly name: string;
  readonly persistent: boolean;
  readonly sync: SyncMode;
}

const VARIANTS: Variant[] = [
  { name: 'rocksdb-sync-none', persistent: true, sync: 'none' },
  { name: 'rocksdb-sync-interval-1s', persistent: true, sync: 'interval' },
  { name: 'rocksdb-sync-batch', persistent: true, sync: 'batch' },
  { name: 'memory', persistent: false, sync: 'none' },
];

function options(variant: Variant, dir: string): StoreOptions {
  return {
    persistent: variant.persistent,
    dir,
    shards,
    memtableBytes: 16 * 1024 * 1024,
    sync: variant.sync,
    syncIntervalMs: 1_000,
    maxSizeBytes: 8 * 1024 ** 3,
    fullPolicy: 'refuse',
    minFreeDiskBytes: 0,
    defaultTtlSec: 7200,
    deliveryWindow: 1024,
    ackTimeoutMs: 30_000,
    retryMinMs: 100,
    retryMaxMs: 2_000,
    cleanupIntervalMs: 10_000,
    reclaimIntervalMs: 60_000,
    ...STORE_TUNING,
  };
}

function makeMessage(i: number): HubMessage {
  const source = i % SOURCES;
  const module = source >= 50 ? `m${source}` : undefined;
  return {
    source: module === undefined ? '/messages/' : `/messages/modules/${module}/outputs/out/`,
    body: BODY,
    properties: { seq: String(i), site: 'plant-7', level: 'hot' },
    systemProperties: { connectionDeviceId: module === undefined ? `dev-${source}` : 'edge', ...(module === undefined ? {} : { connectionModuleId: module }), contentType: 'application/json', contentEncoding: 'utf-8' },
    enqueuedAtMs: Date.now(),
  };
}

const ROUTES = {
  routes: {
    devices: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/filter/inputs/in")',
    modules: 'FROM /messages/modules/* INTO BrokeredEndpoint("/modules/filter/inputs/in")',
  },
};

interface Phase {
  msgPerSec: number;
  deliveredPerSec: number;
  submit: { p50Micros: number; p99Micros: number };
  e2e: { p50Micros: number; p99Micros: number };
}

async function runVariant(variant: Variant): Promise<{ name: string; closedLoop: Phase; paced: Phase & { offeredPerSec: number }; rssBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-store-'));
  const store = await MessageStore.open(options(variant, join(dir, 'store')), ROUTES, createLogger({ level: 'silent' }));
  const submitted = new Map<string, number>();
  const submitHist = new Histogram();
  const e2eHist = new Histogram();
  let acked = 0;
  let delivered = 0;
  let recording = false;
  const pending: (() => void)[] = [];
  store.attach({
    deliver(_endpoint, message, onSettled) {
      if (recording) {
        const at = submitted.get(message.properties.seq!);
        if (at !== undefined) e2eHist.record((performance.now() - at) * 1000);
      }
      submitted.delete(message.properties.seq!);
      delivered++;
      if (pending.push(() => onSettled('acked')) === 1) setImmediate(() => pending.splice(0).forEach((ack) => ack()));
      return true;
    },
  });
  let next = 0;
  const submitOne = (): Promise<void> => {
    const message = makeMessage(next++);
    const at = performance.now();
    submitted.set(message.properties.seq!, at);
    return store.submit(message).then(() => {
      acked++;
      if (recording) submitHist.record((performance.now() - at) * 1000);
    });
  };
  const measure = async (drive: (until: number) => Promise<void>): Promise<Phase> => {
    await drive(performance.now() + WARMUP_MS);
    submitHist.reset();
    e2eHist.reset();
    recording = true;
    const [a0, d0, t0] = [acked, delivered, performance.now()];
    await drive(t0 + MEASURE_MS);
    const seconds = (performance.now() - t0) / 1000;
    recording = false;
    return {
      msgPerSec: Math.round((acked - a0) / seconds),
      deliveredPerSec: Math.round((delivered - d0) / seconds),
      submit: { p50Micros: Math.round(submitHist.quantile(0.5)), p99Micros: Math.round(submitHist.quantile(0.99)) },
      e2e: { p50Micros: Math.round(e2eHist.quantile(0.5)), p99Micros: Math.round(e2eHist.quantile(0.99)) },
    };
  };
  // Closed loop: keep OUTSTANDING submits in flight, as many QoS 1 publishers would.
  const closedLoop = await measure(
    (until) =>
      new Promise<void>((resolve) => {
        let inFlight = 0;
        const pump = () => {
          while (inFlight < OUTSTANDING && performance.now() < until) {
            inFlight++;
            void submitOne().then(() => {
              inFlight--;
              if (performance.now() < until) pump();
              else if (inFlight === 0) resolve();
            });
          }
        };
        pump();
      }),
  );
  await drain(store, () => delivered >= acked);
  // Paced: `rate` messages per second in 1 ms ticks.
  const paced = await measure(
    (until) =>
      new Promise<void>((resolve) => {
        const start = performance.now();
        let sent = 0;
        const timer = setInterval(() => {
          const now = performance.now();
          const due = Math.floor(((now - start) / 1000) * rate);
          while (sent < due) {
            sent++;
            void submitOne();
          }
          if (now >= until) {
            clearInterval(timer);
            resolve();
          }
        }, 1);
      }),
  );
  const rssBytes = process.memoryUsage().rss;
  await drain(store, () => delivered >= acked);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { name: variant.name, closedLoop, paced: { ...paced, offeredPerSec: rate }, rssBytes };
}

async function drain(store: MessageStore, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  void store;
}

const only = args.includes('--variant') ? args[args.indexOf('--variant') + 1] : undefined;
const results = [];
for (const variant of VARIANTS) if (only === undefined || variant.name === only) results.push(await runVariant(variant));
process.stdout.write(
  `${JSON.stringify({ scenario: 'store-throughput', shards, cpus: defaultShardCount(), bodyBytes: BODY.length, outstanding: OUTSTANDING, measureMs: MEASURE_MS, variants: results }, null, 2)}\n`,
);
