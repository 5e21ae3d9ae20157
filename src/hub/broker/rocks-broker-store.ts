import { mkdirSync } from 'node:fs';
import { Packr } from 'msgpackr';
import RocksDB from 'rocksdb-native';
import type { Logger } from '../../log/index.js';
import type { BrokerMessage } from './broker-message.js';
import type { BrokerStore, LoadedBrokerState, StoredQueue, StoredSession } from './broker-store.js';
import type { Outgoing } from './session.js';
import { idKey } from '../rocks-key.js';
import { checkStoreFormat } from '../store/store-version.js';

/**
 * Broker state in RocksDB (one database under <dataDir>/broker). Writes from one event-loop turn
 * go out as one write batch, so a burst of messages to persistent subscribers costs one RocksDB
 * write, not one per message; `flush()` resolves once everything written before it is in the
 * write-ahead log (which survives a process crash).
 *
 * Keys: 's' + id → session; 'q' + id + seq (u64 BE) → queued message; 'r' + topic → retained.
 * Ids are length-prefixed so one client's keys never interleave with another's.
 */

const SESSION = 0x73; // 's'
const QUEUED = 0x71; // 'q'
const RETAINED = 0x72; // 'r'
/** Format version of the broker's database (store/store-version.ts). */
export const BROKER_FORMAT_VERSION = 1;

type Op = { kind: 'put'; key: Buffer; value: Buffer } | { kind: 'delete'; key: Buffer } | { kind: 'range'; start: Buffer; end: Buffer };

export class RocksBrokerStore implements BrokerStore {
  readonly durable = true;
  private readonly packr = new Packr({ useRecords: false, moreTypes: true });
  private pending: Op[] = [];
  private scheduled = false;
  /** Resolves when the batch now being written (and all before it) is durable. */
  private writing: Promise<void> = Promise.resolve();
  private db: RocksDB;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
    this.db = new RocksDB(dir);
  }

  async load(): Promise<LoadedBrokerState> {
    await this.db.ready();
    await checkStoreFormat(this.db, { what: 'broker state', dir: this.dir, current: BROKER_FORMAT_VERSION });
    const sessions: StoredSession[] = [];
    const queues = new Map<string, Outgoing[]>();
    const retained: BrokerMessage[] = [];
    let lastSeq = 0;
    for await (const { key, value } of this.db.iterator({ gte: Buffer.from([SESSION]), lt: Buffer.from([SESSION + 1]) })) {
      void key;
      sessions.push(this.packr.unpack(value) as StoredSession);
    }
    for await (const { key, value } of this.db.iterator({ gte: Buffer.from([QUEUED]), lt: Buffer.from([QUEUED + 1]) })) {
      const { id, seq } = parseQueuedKey(key);
      const outgoing = this.packr.unpack(value) as Outgoing;
      outgoing.seq = seq;
      lastSeq = Math.max(lastSeq, seq);
      const list = queues.get(id) ?? [];
      list.push(outgoing);
      queues.set(id, list);
    }
    const nowMs = Date.now();
    for await (const { value } of this.db.iterator({ gte: Buffer.from([RETAINED]), lt: Buffer.from([RETAINED + 1]) })) {
      const message = this.packr.unpack(value) as BrokerMessage;
      if (message.expiresAtMs === undefined || message.expiresAtMs > nowMs) retained.push(message);
      else this.deleteRetained(message.topic);
    }
    const storedQueues: StoredQueue[] = [...queues].map(([clientId, items]) => ({ clientId, items }));
    this.logger.info({ event: 'broker.state_loaded', sessions: sessions.length, queued: lastSeq === 0 ? 0 : storedQueues.reduce((n, q) => n + q.items.length, 0), retained: retained.length }, 'broker state loaded');
    return { sessions, queues: storedQueues, retained, lastSeq };
  }

  saveSession(session: StoredSession): void {
    this.enqueue({ kind: 'put', key: idKey(SESSION, session.clientId), value: this.packr.pack(session) });
  }

  deleteSession(clientId: string): void {
    this.enqueue({ kind: 'delete', key: idKey(SESSION, clientId) });
    // The queue goes with the session: one range covers every seq of this client.
    const prefix = idKey(QUEUED, clientId);
    this.enqueue({ kind: 'range', start: prefix, end: Buffer.concat([prefix, Buffer.alloc(9, 0xff)]) });
  }

  putQueued(clientId: string, outgoing: Outgoing): void {
    const { message, qos, retain, subscriptionIds } = outgoing;
    this.enqueue({ kind: 'put', key: queuedKey(clientId, outgoing.seq), value: this.packr.pack({ message, qos, retain, subscriptionIds }) });
  }

  deleteQueued(clientId: string, seq: number): void {
    this.enqueue({ kind: 'delete', key: queuedKey(clientId, seq) });
  }

  putRetained(message: BrokerMessage): void {
    this.enqueue({ kind: 'put', key: topicKey(message.topic), value: this.packr.pack(message) });
  }

  deleteRetained(topic: string): void {
    this.enqueue({ kind: 'delete', key: topicKey(topic) });
  }

  /** True when writes are waiting for the next batch. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  flush(): Promise<void> {
    if (this.hasPending) this.writeBatch();
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.db.close();
  }

  private enqueue(op: Op): void {
    this.pending.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.hasPending) this.writeBatch();
      });
    }
  }

  private writeBatch(): void {
    const ops = this.pending;
    this.pending = [];
    const previous = this.writing;
    this.writing = previous.then(async () => {
      const batch = this.db.write();
      try {
        // Operations apply in order, so a delete after a put of the same key wins.
        for (const op of ops) {
          if (op.kind === 'put') batch.tryPut(op.key, op.value);
          else if (op.kind === 'delete') batch.tryDelete(op.key);
          else batch.tryDeleteRange(op.start, op.end);
        }
        await batch.flush();
      } catch (error) {
        this.logger.error({ event: 'broker.store_write_failed', code: 'OUTPOST_INTERNAL', err: error, ops: ops.length }, 'broker state write failed');
      } finally {
        // An undestroyed batch makes close() hang (rocksdb-native).
        batch.destroy();
      }
    });
  }
}

function queuedKey(clientId: string, seq: number): Buffer {
  const prefix = idKey(QUEUED, clientId);
  const key = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(key, 0);
  key.writeBigUInt64BE(BigInt(seq), prefix.length);
  return key;
}

function parseQueuedKey(key: Buffer): { id: string; seq: number } {
  const length = key.readUInt16BE(1);
  return { id: key.toString('utf8', 3, 3 + length), seq: Number(key.readBigUInt64BE(3 + length)) };
}

function topicKey(topic: string): Buffer {
  return Buffer.concat([Buffer.from([RETAINED]), Buffer.from(topic, 'utf8')]);
}
