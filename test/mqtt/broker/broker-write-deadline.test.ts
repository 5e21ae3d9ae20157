/**
 * The broker store's write deadline (RocksBrokerStore, WRITE_DEADLINE_MS): RocksDB can hold a write
 * without failing it (its recovery from a full disk waits for space; seen under broker-disk-full),
 * so a batch not written by its deadline has its waiting publishes refused, and new publishes that
 * would write are refused until it completes. Real RocksDB in a temporary directory, with the
 * deadline shortened to 1 ms under a 24 MiB batch (tens of ms to write), so that the write is
 * still in flight when the deadline passes: what a held write looks like from the hub's side.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RocksBrokerStore, type BrokerMessage } from '../../../src/hub/broker/index.js';
import { createLogger } from '../../../src/log/index.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { tempDir } from '../../helpers/outpost-process.js';

const dirs: { remove(): void }[] = [];
after(() => {
  for (const dir of dirs) dir.remove();
});

function retained(topic: string, bytes: number): BrokerMessage {
  return { topic, payload: Buffer.alloc(bytes, topic.length), qos: 1, retain: true, properties: undefined, expiresAtMs: undefined, senderClientId: 'pub' };
}

describe('broker store write deadline', () => {
  it('refuses the publishes of a batch not written by its deadline and new ones until it completes, then takes them again, and what it wrote is there', async () => {
    const dir = tempDir('outpost-write-deadline-');
    dirs.push(dir);
    const { logger, lines } = captureLogger();
    const store = new RocksBrokerStore(dir.path, logger, { writeDeadlineMs: 1 });
    await store.load();
    // 24 retained messages of 1 MiB: one batch.
    for (let i = 0; i < 24; i++) store.putRetained(retained(`big/${i}`, 1024 * 1024));
    const written = store.flush();
    const outcome = await written.then(
      () => 'written',
      (error: { code?: string }) => error.code,
    );
    assert.equal(outcome, 'OUTPOST_BROKER_WRITE_FAILED', 'the waiting publishes are refused (the disk has room: not a disk-full refusal)');
    assert.equal(store.refusal?.code, 'OUTPOST_BROKER_WRITE_FAILED', 'new publishes that would write are refused while the write is held');
    const stalled = lines.find((l) => l.event === 'broker.store_write_stalled');
    assert.ok(stalled !== undefined, 'logged');
    assert.equal(stalled['ops'], 24);

    // The held write completes: publishes are taken again, and the next batch is written.
    for (let waited = 0; store.refusal !== undefined && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(store.refusal, undefined);
    assert.deepEqual(lines.filter((l) => l.event === 'broker.store_write_resumed').map((l) => [l['written'], l['ops']]), [[true, 24]]);
    await store.close();

    // Refused to its publishers, yet written: at least once (they send again), nothing lost.
    const reopened = new RocksBrokerStore(dir.path, createLogger({ level: 'silent' }));
    const state = await reopened.load();
    assert.equal(state.retained.length, 24);
    await reopened.close();
  });

  it('leaves a write that completes within its deadline alone', async () => {
    const dir = tempDir('outpost-write-deadline-');
    dirs.push(dir);
    const { logger, lines } = captureLogger();
    const store = new RocksBrokerStore(dir.path, logger);
    await store.load();
    for (let i = 0; i < 24; i++) store.putRetained(retained(`big/${i}`, 1024 * 1024));
    await store.flush();
    assert.equal(store.refusal, undefined);
    assert.deepEqual(lines.filter((l) => String(l.event).startsWith('broker.store_write')), []);
    await store.close();
  });
});
