/**
 * Store format versions (issue 15): each message-store shard and the broker's database carry a
 * version record, written at open; a store without one (written before records existed) is
 * version 1 and opens; a newer version, or a newer store.json format, is refused with
 * OUTPOST_STORE_VERSION_UNSUPPORTED before anything is changed.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import RocksDB from 'rocksdb-native';
import { runOutpost, spawnOutpost, stopQuietly, tempDir } from '../helpers/outpost-process.js';
import { encodeVersion, STORE_VERSION_KEY } from '../../src/hub/store/store-version.js';

const dir = tempDir('outpost-store-version-');
after(() => dir.remove());
let count = 0;
let pristine = '';

/**
 * Runs `outpost hub` on the data directory until hub.ready, then stops it (generous limits: the
 * machine is shared). Its shards start with it (store.shardIdleStop=0s): by default a shard's
 * database is made with its first message, and these tests need every shard's.
 */
async function runHubOnce(dataDir: string): Promise<void> {
  const outpost = spawnOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--set', 'store.shardIdleStop=0s']);
  try {
    await outpost.waitFor((line) => line.event === 'hub.ready', 60_000);
    outpost.child.kill('SIGTERM');
    assert.equal(await outpost.exited(30_000), 0);
  } finally {
    await stopQuietly(outpost);
  }
}

before(async () => {
  pristine = join(dir.path, 'pristine');
  await runHubOnce(pristine);
});

/** A copy of the data directory a stopped hub left. */
function storedHub(): string {
  const dataDir = join(dir.path, `data-${count++}`);
  cpSync(pristine, dataDir, { recursive: true });
  return dataDir;
}

async function withDb<T>(path: string, use: (db: RocksDB) => Promise<T>): Promise<T> {
  const db = new RocksDB(path, { createIfMissing: false });
  await db.ready();
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

async function readVersion(path: string): Promise<number | null> {
  return withDb(path, async (db) => {
    const raw = await db.get(STORE_VERSION_KEY);
    return raw === null ? null : raw.readUInt32BE(0);
  });
}

/** Starts `outpost hub` on the data directory and expects a refusal. */
async function refusedStart(dataDir: string): Promise<string> {
  const result = await runOutpost(['hub', '--data-dir', dataDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'], { timeoutMs: 30_000 });
  assert.equal(result.code, 2, result.stderr);
  return `${result.stderr}\n${result.stdout}`;
}

describe('store format versions', () => {
  it('records version 1 in every shard and in the broker state', async () => {
    const dataDir = storedHub();
    assert.equal(await readVersion(join(dataDir, 'store', 'shard-0')), 1);
    assert.equal(await readVersion(join(dataDir, 'store', 'shard-1')), 1);
    assert.equal(await readVersion(join(dataDir, 'broker')), 1);
    assert.equal((JSON.parse(readFileSync(join(dataDir, 'store', 'store.json'), 'utf8')) as { format: number }).format, 1);
  });

  it('opens a store written before version records existed as version 1, and records it', async () => {
    const dataDir = storedHub();
    for (const db of [join(dataDir, 'store', 'shard-0'), join(dataDir, 'broker')]) await withDb(db, (handle) => handle.delete(STORE_VERSION_KEY));
    assert.equal(await readVersion(join(dataDir, 'broker')), null);
    await runHubOnce(dataDir);
    assert.equal(await readVersion(join(dataDir, 'store', 'shard-0')), 1);
    assert.equal(await readVersion(join(dataDir, 'broker')), 1);
  });

  it('refuses a shard written by a newer Outpost, and leaves it as it was', async () => {
    const dataDir = storedHub();
    const shard = join(dataDir, 'store', 'shard-1');
    await withDb(shard, (db) => db.put(STORE_VERSION_KEY, encodeVersion(2)));
    assert.match(await refusedStart(dataDir), /OUTPOST_STORE_VERSION_UNSUPPORTED/);
    assert.equal(await readVersion(shard), 2);
    // `outpost store stats` (read-only) refuses it too rather than misread it.
    const stats = await runOutpost(['store', 'stats', '--data-dir', dataDir]);
    assert.equal(stats.code, 2);
    assert.match(stats.stderr, /OUTPOST_STORE_VERSION_UNSUPPORTED: message store shard .*shard-1 has format version 2/);
  });

  it('refuses broker state written by a newer Outpost', async () => {
    const dataDir = storedHub();
    await withDb(join(dataDir, 'broker'), (db) => db.put(STORE_VERSION_KEY, encodeVersion(7)));
    assert.match(await refusedStart(dataDir), /OUTPOST_STORE_VERSION_UNSUPPORTED/);
    assert.equal(await readVersion(join(dataDir, 'broker')), 7);
  });

  it('refuses a store.json of a newer format', async () => {
    const dataDir = storedHub();
    const file = join(dataDir, 'store', 'store.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), format: 2 }));
    assert.match(await refusedStart(dataDir), /OUTPOST_STORE_VERSION_UNSUPPORTED/);
  });
});
