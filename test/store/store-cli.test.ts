/**
 * `outpost store stats`: read from the store's files, beside a store that is open and being
 * written (a running hub), as JSON and as a table; a missing store is a clear usage error.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runOutpost, tempDir } from '../helpers/outpost-process.js';
import { basicRoutes, INPUT_A, INPUT_B, message, openStore, priorityRoutes, RecordingTarget, submitPriorityMix } from './store-harness.js';

describe('outpost store stats', () => {
  const dir = tempDir('outpost-store-cli-');
  after(() => dir.remove());

  it('reports queues per endpoint and per shard while the store is open', async () => {
    const storeDir = join(dir.path, 'store');
    const store = await openStore('rocksdb', storeDir, basicRoutes(), { shards: 2 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    await Promise.all(Array.from({ length: 300 }, (_, n) => store.submit(message({ device: 'edge', module: 'sensor', output: 'out' }, n))));
    await Promise.all(Array.from({ length: 20 }, (_, n) => store.submit(message({ device: `dev${n}` }, n))));
    try {
      const env = { OUTPOST_STORE__DIR: storeDir };
      const json = await runOutpost(['store', 'stats', '--json', '--data-dir', dir.path], { env });
      assert.equal(json.code, 0, json.stderr);
      const stats = JSON.parse(json.stdout) as { endpoints: { endpoint: string; queued: number; oldestAgeMs: number }[]; shards: unknown[]; totals: { queued: number; diskBytes: number } };
      assert.equal(stats.endpoints.find((e) => e.endpoint === INPUT_A)?.queued, 300);
      assert.equal(stats.endpoints.find((e) => e.endpoint === INPUT_B)?.queued, 20);
      assert.equal(stats.totals.queued, 320);
      assert.equal(stats.shards.length, 2);
      assert.ok(stats.totals.diskBytes > 0);
      assert.ok(stats.endpoints[0]!.oldestAgeMs >= 0);

      const text = await runOutpost(['store', 'stats', '--data-dir', dir.path], { env });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /queued: 320 messages/);
      assert.match(text.stdout, new RegExp(`${INPUT_A.replaceAll('/', '\\/')}\\s+300\\s`));
      assert.match(text.stdout, /^SHARD\s+QUEUED\s+BYTES\s+DISK$/m);
    } finally {
      await store.close();
    }
  });

  it('shows what is queued at each route priority when routes have priorities', async () => {
    const dataDir = join(dir.path, 'prio');
    const storeDir = join(dataDir, 'store');
    const store = await openStore('rocksdb', storeDir, priorityRoutes(), { shards: 2 });
    const target = new RecordingTarget();
    target.available = () => false;
    store.attach(target);
    await submitPriorityMix(store, 40);
    try {
      const text = await runOutpost(['store', 'stats', '--data-dir', dataDir], { env: { OUTPOST_STORE__DIR: storeDir } });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^ENDPOINT\s+QUEUED\s+BYTES\s+OLDEST\s+PRIORITIES$/m);
      assert.match(text.stdout, new RegExp(`${INPUT_A.replaceAll('/', '\\/')}\\s+120\\s.*\\s0:40 5:40 default:40$`, 'm'));
    } finally {
      await store.close();
    }
  });

  it('says so when there is no store yet', async () => {
    const result = await runOutpost(['store', 'stats', '--data-dir', join(dir.path, 'empty')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /OUTPOST_STORE_OPEN_FAILED: no message store at/);
  });
});
