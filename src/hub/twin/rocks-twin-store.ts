import { mkdirSync } from 'node:fs';
import RocksDB from 'rocksdb-native';
import type { Logger } from '../../log/index.js';
import { blockCacheOptions, type RocksMemoryOptions } from '../rocks-memory.js';
import { idKey, SCAN_CAPACITY } from '../rocks-key.js';
import type { TwinRecord, TwinStore } from './twin-store.js';

/** Memtable size of this database (see the constructor). */
const SMALL_WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * Twins in RocksDB (one database under <dataDir>/twins), on the main thread: twin operations are
 * rare next to telemetry, and a write is small. Key 't' + twin id (length-prefixed) → the record
 * as JSON text (twin values are JSON, and JSON.parse keeps a key named "__proto__" as data).
 *
 * Writes from one event-loop turn go out as one write batch (group commit: a burst of reported
 * patches from many devices costs one RocksDB write), and each write's promise resolves when its
 * batch is in the write-ahead log. Every batch is destroyed after its flush: rocksdb-native's
 * close() hangs on a batch left undestroyed (DESIGN.md).
 */

const TWIN = 0x74; // 't'

interface Pending {
  readonly key: Buffer;
  readonly value: Buffer | undefined;
  readonly done: { resolve: () => void; reject: (error: unknown) => void };
}

export class RocksTwinStore implements TwinStore {
  readonly durable = true;
  private readonly db: RocksDB;
  private pending: Pending[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    memory: RocksMemoryOptions = {},
  ) {
    mkdirSync(dir, { recursive: true });
    // twin writes are small and rare next to telemetry: RocksDB's default write buffer (64 MB,
    // two of them) would let this one database grow to 128 MB of memtables (issue 20).
    // The memory budget (memoryBudget) may make it smaller still, and turns the block cache off.
    this.db = new RocksDB(dir, { writeBufferSize: memory.writeBufferBytes ?? SMALL_WRITE_BUFFER_BYTES, maxWriteBufferNumber: 2, ...blockCacheOptions(memory.blockCache) });
  }

  async open(): Promise<void> {
    await this.db.ready();
  }

  async read(twinId: string): Promise<TwinRecord> {
    const value = (await this.db.get(idKey(TWIN, twinId))) as Buffer | null;
    return value === null ? { twin: undefined, delivered: undefined } : (JSON.parse(value.toString('utf8')) as TwinRecord);
  }

  write(twinId: string, record: TwinRecord): Promise<void> {
    return this.enqueue(idKey(TWIN, twinId), Buffer.from(JSON.stringify(record), 'utf8'));
  }

  remove(twinId: string): Promise<void> {
    return this.enqueue(idKey(TWIN, twinId), undefined);
  }

  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const { key } of this.db.iterator({ gte: Buffer.from([TWIN]), lt: Buffer.from([TWIN + 1]), capacity: SCAN_CAPACITY })) {
      const length = (key as Buffer).readUInt16BE(1);
      ids.push((key as Buffer).toString('utf8', 3, 3 + length));
    }
    return ids.sort();
  }

  async close(): Promise<void> {
    if (this.pending.length > 0) this.writeBatch();
    await this.writing;
    await this.db.close();
  }

  private enqueue(key: Buffer, value: Buffer | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ key, value, done: { resolve, reject } });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.pending.length > 0) this.writeBatch();
      });
    });
  }

  private writeBatch(): void {
    const ops = this.pending;
    this.pending = [];
    this.writing = this.writing.then(async () => {
      const batch = this.db.write();
      try {
        for (const op of ops) {
          if (op.value === undefined) batch.tryDelete(op.key);
          else batch.tryPut(op.key, op.value);
        }
        await batch.flush();
        for (const op of ops) op.done.resolve();
      } catch (error) {
        this.logger.error({ event: 'twin.store_write_failed', code: 'OUTPOST_TWIN_STORE_FAILED', err: error, ops: ops.length }, 'twin store write failed');
        for (const op of ops) op.done.reject(error);
      } finally {
        batch.destroy();
      }
    });
  }
}
