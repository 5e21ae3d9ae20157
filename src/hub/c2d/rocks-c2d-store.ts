import { mkdirSync } from 'node:fs';
import RocksDB from 'rocksdb-native';
import type { Logger } from '../../log/index.js';
import { blockCacheOptions, type RocksMemoryOptions } from '../rocks-memory.js';
import { idKey, SCAN_CAPACITY } from '../rocks-key.js';
import type { C2dMessage } from './c2d-message.js';
import type { C2dStore } from './c2d-store.js';

/** Memtable size of this database (see the constructor). */
const SMALL_WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * C2D queues in RocksDB (one database under <dataDir>/c2d), on the main thread: C2D is rare and
 * bounded (50 messages of 64 KB per device). Key 'c' + device id (length-prefixed) + seq (u64 BE),
 * so one device's messages are adjacent and in order; value = u32 header length + the message
 * without its body as JSON + the body.
 *
 * Writes are serialized on one chain, each in its own batch, destroyed after its flush:
 * rocksdb-native's close() hangs on a batch left undestroyed (DESIGN.md).
 */

const C2D = 0x63; // 'c'
const SEQ_BYTES = 8;
const HEADER_LENGTH_BYTES = 4;

type Header = Omit<C2dMessage, 'body'>;

function keyOf(deviceId: string, seq: number): Buffer {
  const prefix = idKey(C2D, deviceId);
  const key = Buffer.allocUnsafe(prefix.length + SEQ_BYTES);
  prefix.copy(key, 0);
  key.writeBigUInt64BE(BigInt(seq), prefix.length);
  return key;
}

function encode(message: C2dMessage): Buffer {
  const { body, ...header } = message;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.allocUnsafe(HEADER_LENGTH_BYTES);
  length.writeUInt32BE(json.length, 0);
  return Buffer.concat([length, json, body]);
}

function decode(value: Buffer): C2dMessage {
  const length = value.readUInt32BE(0);
  const header = JSON.parse(value.toString('utf8', HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + length)) as Header;
  return { ...header, body: Buffer.from(value.subarray(HEADER_LENGTH_BYTES + length)) };
}

export class RocksC2dStore implements C2dStore {
  readonly durable = true;
  private readonly db: RocksDB;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    dir: string,
    private readonly logger: Logger,
    memory: RocksMemoryOptions = {},
  ) {
    mkdirSync(dir, { recursive: true });
    // C2D writes are small and rare next to telemetry: RocksDB's default write buffer (64 MB,
    // two of them) would let this one database grow to 128 MB of memtables (issue 20).
    // The memory budget (memoryBudget) may make it smaller still, and turns the block cache off.
    this.db = new RocksDB(dir, { writeBufferSize: memory.writeBufferBytes ?? SMALL_WRITE_BUFFER_BYTES, maxWriteBufferNumber: 2, ...blockCacheOptions(memory.blockCache) });
  }

  async open(): Promise<C2dMessage[]> {
    await this.db.ready();
    const messages: C2dMessage[] = [];
    for await (const { value } of this.db.iterator({ gte: Buffer.from([C2D]), lt: Buffer.from([C2D + 1]), capacity: SCAN_CAPACITY })) messages.push(decode(value as Buffer));
    return messages;
  }

  put(message: C2dMessage): Promise<void> {
    return this.write(keyOf(message.deviceId, message.seq), encode(message));
  }

  remove(deviceId: string, seq: number): Promise<void> {
    return this.write(keyOf(deviceId, seq), undefined);
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.db.close();
  }

  private write(key: Buffer, value: Buffer | undefined): Promise<void> {
    const done = this.writing.then(async () => {
      const batch = this.db.write();
      try {
        if (value === undefined) batch.tryDelete(key);
        else batch.tryPut(key, value);
        await batch.flush();
      } catch (error) {
        this.logger.error({ event: 'c2d.store_write_failed', code: 'OUTPOST_C2D_STORE_FAILED', err: error }, 'C2D store write failed');
        throw error;
      } finally {
        batch.destroy();
      }
    });
    this.writing = done.catch(() => undefined);
    return done;
  }
}
