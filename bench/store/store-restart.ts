/**
 * Scenario `store-restart`: restart with 1 million queued messages (issue 6 target: ready to
 * deliver within 5 s). A child process fills a RocksDB store with 1 000 000 messages (200-byte
 * body, 64 sources, 2 shards by default) for a module input that is not connected, then either
 * closes the store cleanly or kills itself with SIGKILL (the write-ahead log is replayed on open).
 * The parent then opens the store and measures:
 *   - openMs: MessageStore.open (shard workers started, RocksDB opened, queues found);
 *   - firstDeliveryMs: open + first message handed to the (now connected) module;
 *   - first100kMs: until 100 000 messages were delivered and acknowledged (drain rate).
 * Output: one JSON object on stdout.
 *
 * Run: npx tsc -p . && node dist/bench/store/store-restart.js [--messages 1000000] [--shards 2]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log/index.js';
import type { HubMessage } from '../../src/hub/message/index.js';
import { MessageStore, STORE_TUNING, defaultShardCount, type StoreOptions } from '../../src/hub/store/index.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const MESSAGES = Number(option('--messages') ?? 1_000_000);
const SHARDS = Number(option('--shards') ?? 0) || defaultShardCount();
const BODY = Buffer.alloc(200, 0x62);
const ROUTES = { routes: { all: 'FROM /messages/* INTO BrokeredEndpoint("/modules/filter/inputs/in")' } };

function options(dir: string): StoreOptions {
  return {
    persistent: true,
    dir,
    shards: SHARDS,
    memtableBytes: 16 * 1024 * 1024,
    sync: 'none',
    syncIntervalMs: 1_000,
    maxSizeBytes: 64 * 1024 ** 3,
    fullPolicy: 'refuse',
    minFreeDiskBytes: 0,
    defaultTtlSec: 7200,
    deliveryWindow: 1024,
    ackTimeoutMs: 30_000,
    retryMinMs: 10,
    retryMaxMs: 100,
    cleanupIntervalMs: 60_000,
    reclaimIntervalMs: 60_000,
    ...STORE_TUNING,
  };
}

function message(i: number): HubMessage {
  return { source: '/messages/', body: BODY, properties: { seq: String(i) }, systemProperties: { connectionDeviceId: `dev-${i % 64}` }, enqueuedAtMs: Date.now() };
}

async function fill(dir: string, kill: boolean): Promise<void> {
  const store = await MessageStore.open(options(dir), ROUTES, createLogger({ level: 'silent' }));
  store.attach({ deliver: () => false });
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i += 8192) {
    await Promise.all(Array.from({ length: Math.min(8192, MESSAGES - i) }, (_, k) => store.submit(message(i + k))));
  }
  const fillMsgPerSec = Math.round(MESSAGES / ((performance.now() - started) / 1000));
  const stats = await store.stats();
  process.send!({ fillMsgPerSec, queued: stats.totals.queued, diskBytes: stats.totals.diskBytes });
  if (kill) process.kill(process.pid, 'SIGKILL');
  await store.close();
  process.exit(0);
}

async function filled(dir: string, kill: boolean): Promise<Record<string, number>> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', dir, kill ? 'kill' : 'clean', '--messages', String(MESSAGES), '--shards', String(SHARDS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let report: Record<string, number> = {};
  child.on('message', (m: Record<string, number>) => (report = m));
  await new Promise((resolve) => child.once('exit', resolve));
  return report;
}

async function reopen(dir: string): Promise<Record<string, number>> {
  const started = performance.now();
  const store = await MessageStore.open(options(dir), ROUTES, createLogger({ level: 'silent' }));
  const openMs = performance.now() - started;
  let delivered = 0;
  let firstDeliveryMs = 0;
  let first100kMs = 0;
  const acks: (() => void)[] = [];
  await new Promise<void>((resolve) => {
    store.attach({
      deliver(_endpoint, _message, onSettled) {
        if (delivered++ === 0) firstDeliveryMs = performance.now() - started;
        if (delivered === 100_000) {
          first100kMs = performance.now() - started;
          resolve();
        }
        if (acks.push(() => onSettled('acked')) === 1) setImmediate(() => acks.splice(0).forEach((ack) => ack()));
        return true;
      },
    });
  });
  const queued = (await store.stats()).totals.queued;
  const rssBytes = process.memoryUsage().rss;
  await store.close();
  return { openMs: Math.round(openMs), firstDeliveryMs: Math.round(firstDeliveryMs), first100kMs: Math.round(first100kMs), drainMsgPerSec: Math.round(100_000 / ((first100kMs - firstDeliveryMs) / 1000)), queuedAfter: queued, rssBytes };
}

if (args[0] === '--child') {
  await fill(args[1]!, args[2] === 'kill');
} else {
  const results: Record<string, unknown> = {};
  for (const mode of ['kill', 'clean'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-restart-'));
    const fillReport = await filled(join(dir, 'store'), mode === 'kill');
    results[mode === 'kill' ? 'afterKill9' : 'afterCleanStop'] = { ...fillReport, ...(await reopen(join(dir, 'store'))) };
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify({ scenario: 'store-restart', messages: MESSAGES, shards: SHARDS, bodyBytes: BODY.length, ...results }, null, 2)}\n`);
}
