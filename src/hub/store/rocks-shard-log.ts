import { blockCacheOptions } from '../rocks-memory.js';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import RocksDB from 'rocksdb-native';
import type { LogBatch, ReadPage, ShardLog, StreamState, TrimmedRange } from './shard-log.js';
import { directoryBytes } from './store-layout.js';
import { checkStoreFormat } from './store-version.js';
import { WalSync } from './wal-sync.js';
import { idKey, SCAN_CAPACITY } from '../rocks-key.js';

/**
 * A shard's queues in one RocksDB database (owned by one shard worker thread).
 *
 * Keys: 'q' + u16 length + queue id + u64 seq (big-endian, so a queue is one ordered key range)
 * → entry (entry-header.ts); 's' + u16 length + queue id → the queue's StreamState (queue-id.ts:
 * the endpoint id itself for the default priority). Entries and
 * the state that counts them are written in the same batch, so they never disagree after a crash.
 */

const QUEUE = 0x71; // 'q'
const STATE = 0x73; // 's'
const MAX_SEQ = 2n ** 64n - 1n;
/** rocksdb-native's own entries per trip: what a page gets when its entries' size is not known. */
const MIN_TRIP = 8;

/**
 * Entries per trip to rocksdb-native's thread for a page: as many as the page asks for, at most
 * SCAN_CAPACITY, and about `maxBytes`' worth at the queue's average entry size. A trip is fetched
 * whole before `maxBytes` is checked, so 1,024 entries of 256 KiB would be 256 MiB at once.
 */
export function tripCapacity(limit: number, maxBytes: number, entryBytes: number | undefined): number {
  let capacity = Math.min(limit, SCAN_CAPACITY);
  if (Number.isFinite(maxBytes)) {
    const byBytes = entryBytes === undefined || entryBytes <= 0 ? MIN_TRIP : Math.ceil(maxBytes / entryBytes);
    capacity = Math.min(capacity, Math.max(MIN_TRIP, byBytes));
  }
  return Math.max(1, capacity);
}
/** Format version of a shard's database (store-version.ts); bump it with a migration when keys or values change. */
export const SHARD_FORMAT_VERSION = 1;
/** RocksDB starts a new info LOG on every open and keeps up to 1000 old ones by default (Azure #2431). */
const KEEP_OLD_INFO_LOGS = 3;

export interface RocksShardLogOptions {
  readonly dir: string;
  /** RocksDB write buffer (memtable) size: RAM per shard, and write-ahead log kept before a flush. */
  readonly memtableBytes: number;
  /** RocksDB's block cache (absent: on); the memory budget turns it off on a small budget. */
  readonly blockCache?: boolean;
  /** Opens without taking the lock, for inspection beside a running hub; writes fail. */
  readonly readOnly?: boolean;
}

export class RocksShardLog implements ShardLog {
  readonly persistent = true;
  private readonly packr = new Packr({ useRecords: false });
  private readonly db: RocksDB;
  private readonly walSync: WalSync;

  constructor(private readonly options: RocksShardLogOptions) {
    if (options.readOnly === true) {
      this.db = new RocksDB(options.dir, { readOnly: true, createIfMissing: false });
    } else {
      mkdirSync(options.dir, { recursive: true });
      pruneInfoLogs(options.dir);
      this.db = new RocksDB(options.dir, { writeBufferSize: options.memtableBytes, maxWriteBufferNumber: 2, ...blockCacheOptions(options.blockCache) });
    }
    this.walSync = new WalSync(this.db, options.dir);
  }

  async open(): Promise<StreamState[]> {
    await this.db.ready();
    await checkStoreFormat(this.db, { what: `message store shard ${this.options.dir}`, dir: this.options.dir, current: SHARD_FORMAT_VERSION, readOnly: this.options.readOnly === true });
    const states: StreamState[] = [];
    for await (const { value } of this.db.iterator({ gte: Buffer.from([STATE]), lt: Buffer.from([STATE + 1]), capacity: SCAN_CAPACITY })) {
      states.push(this.packr.unpack(value) as StreamState);
    }
    return states;
  }

  batch(): LogBatch {
    const batch = this.db.write();
    const packr = this.packr;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      // An undestroyed batch makes close() hang (rocksdb-native).
      batch.destroy();
    };
    return {
      put: (queueId, seq, value) => batch.tryPut(queueKey(queueId, seq), value as Buffer),
      trim: (queueId, fromSeq, toSeq) => batch.tryDeleteRange(queueKey(queueId, fromSeq), queueKey(queueId, toSeq)),
      putState: (state) => batch.tryPut(idKey(STATE, state.id), packr.pack(state)),
      commit: async () => {
        try {
          await batch.flush();
        } finally {
          finish();
        }
      },
      abort: finish,
    };
  }

  async read(queueId: string, fromSeq: number, limit: number, maxBytes: number, entryBytes?: number): Promise<ReadPage> {
    const values: Uint8Array[] = [];
    let firstSeq = -1;
    let bytes = 0;
    const iterator = this.db.iterator({ gte: queueKey(queueId, fromSeq), lte: queueKey(queueId, MAX_SEQ), limit, capacity: tripCapacity(limit, maxBytes, entryBytes) });
    try {
      for await (const { key, value } of iterator) {
        const seq = Number(key.readBigUInt64BE(key.length - 8));
        if (firstSeq < 0) firstSeq = seq;
        else if (seq !== firstSeq + values.length) break; // never happens: queues have no holes
        values.push(value);
        bytes += value.byteLength;
        if (bytes >= maxBytes) break;
      }
    } finally {
      iterator.destroy();
    }
    return { firstSeq: firstSeq < 0 ? fromSeq : firstSeq, values };
  }

  async reclaim(ranges?: readonly TrimmedRange[]): Promise<void> {
    // Deleted entries and their tombstones occupy disk until compaction drops them; after a
    // backlog drains, this is what brings disk usage back down (Azure #3981).
    if (ranges === undefined) {
      await this.db.compactRange();
      return;
    }
    // One queue's entries are one key range, so a drained range is compacted without rewriting
    // the rest of the shard (on a nearly full disk, room to rewrite live data may not be there).
    for (const range of ranges) await this.db.compactRange(queueKey(range.queueId, range.fromSeq), queueKey(range.queueId, range.toSeq));
  }

  diskBytes(): number {
    return directoryBytes(this.options.dir);
  }

  sync(): Promise<void> {
    return this.walSync.sync();
  }

  async close(): Promise<void> {
    await this.walSync.close();
    await this.db.close();
  }
}

function queueKey(queueId: string, seq: number | bigint): Buffer {
  const idBytes = Buffer.byteLength(queueId, 'utf8');
  const key = Buffer.allocUnsafe(11 + idBytes);
  key[0] = QUEUE;
  key.writeUInt16BE(idBytes, 1);
  key.write(queueId, 3, 'utf8');
  key.writeBigUInt64BE(BigInt(seq), 3 + idBytes);
  return key;
}

/** Key bytes of one queue entry (for the store's byte accounting). */
export function queueKeyBytes(queueId: string): number {
  return 11 + Buffer.byteLength(queueId, 'utf8');
}

function pruneInfoLogs(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith('LOG.old.')).sort();
  } catch {
    return;
  }
  for (const name of names.slice(0, Math.max(0, names.length - KEEP_OLD_INFO_LOGS))) rmSync(join(dir, name), { force: true });
}
