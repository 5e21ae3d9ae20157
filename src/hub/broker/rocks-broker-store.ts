import { blockCacheOptions } from '../rocks-memory.js';
import { mkdirSync } from 'node:fs';
import { Packr } from 'msgpackr';
import RocksDB from 'rocksdb-native';
import { OutpostError, toOutpostError } from '../../errors/index.js';
import { RateLimitedLog, type Logger } from '../../log/index.js';
import { DISK_FULL_BELOW_BYTES, freeBytesUnder } from '../free-space.js';
import type { BrokerMessage } from './broker-message.js';
import type { BrokerStore, LoadedBrokerState, StoredQueue, StoredSession } from './broker-store.js';
import type { Outgoing } from './session.js';
import { idKey, SCAN_CAPACITY } from '../rocks-key.js';
import { checkStoreFormat } from '../store/store-version.js';

/**
 * Broker state in RocksDB (one database under <dataDir>/broker). Writes from one event-loop turn
 * go out as one write batch, and what arrives while a batch is being written goes out together
 * in the next (group commit), so a burst of messages to persistent subscribers costs one RocksDB
 * write, not one per message. `flush()` gives the promise of the batch that holds everything
 * written so far: it resolves once that batch is in the write-ahead log (which survives a process
 * crash) and rejects when it was not written, so nothing is acknowledged that is not durable
 * (docs/invariants.md).
 *
 * A failed batch is kept and written again with the next one (or after RETRY_MS), so memory and
 * disk agree again once the disk does. A batch still not written after WRITE_DEADLINE_MS has its
 * publishers refused, and new ones until it completes. Below store.minFreeDisk free space, or after a write found
 * no space, `refusal` is set and the broker refuses publishes that would write; while it is set,
 * what was deleted is compacted, since deleted data gives its space back only then.
 *
 * Keys: 's' + id → session; 'q' + id + seq (u64 BE) → queued message; 'r' + topic → retained.
 * Ids are length-prefixed so one client's keys never interleave with another's.
 */

const SESSION = 0x73; // 's'
const QUEUED = 0x71; // 'q'
const RETAINED = 0x72; // 'r'
/** Format version of the broker's database (store/store-version.ts). */
export const BROKER_FORMAT_VERSION = 1;
const DISK_CHECK_MS = 1_000;
/** Bytes written between free-space checks besides the timer (a burst can fill a disk within a second). */
const DISK_CHECK_BYTES = 1024 * 1024;
/** Delay before a failed batch is written again when nothing new comes. */
const RETRY_MS = 1_000;
/**
 * How long a batch may take before the publishes waiting for it are refused. RocksDB can stop
 * writes without failing them: after a background flush found no space, its recovery waits for
 * free space (SstFileManager) and a write meanwhile waits in DelayWrite, with nothing logged (seen
 * under broker-disk-full: the publish was never answered). A healthy write takes milliseconds.
 */
export const WRITE_DEADLINE_MS = 5_000;
/** Operations of failed batches kept for the retry at most; past it the oldest are given up (logged). */
const MAX_RETRY_OPS = 65_536;

type Op = { kind: 'put'; key: Buffer; value: Buffer } | { kind: 'delete'; key: Buffer } | { kind: 'range'; start: Buffer; end: Buffer };

/** One write batch's outcome, for whoever waits on it (one promise per batch, not per message). */
interface BatchOutcome {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: OutpostError): void;
}

export interface RocksBrokerStoreOptions {
  /** store.minFreeDisk: below this much free space new durable state is refused; 0 refuses only after a write found no space. */
  readonly minFreeDiskBytes?: number;
  /**
   * RocksDB write buffer (store.memtableSize): also how much write-ahead log is replayed, and
   * written out as a table, when the store opens after a crash, so it must fit in the reserve.
   */
  readonly memtableBytes?: number;
  /** RocksDB's block cache (memoryBudget turns it off on a small budget). */
  readonly blockCache?: boolean;
  /** WRITE_DEADLINE_MS by default (tests shorten it). */
  readonly writeDeadlineMs?: number;
}

export class RocksBrokerStore implements BrokerStore {
  readonly durable = true;
  refusal: OutpostError | undefined = undefined;
  writes = 0;
  private readonly packr = new Packr({ useRecords: false, moreTypes: true });
  private readonly minFreeDiskBytes: number;
  private readonly writeDeadlineMs: number;
  private readonly warn: RateLimitedLog;
  private pending: Op[] = [];
  /** Operations of failed batches; they go first in the next batch. */
  private retry: Op[] = [];
  /** The outcome of the batch `pending` will go out in; made when someone waits for it. */
  private next: BatchOutcome | undefined;
  /** The batch being written, if any. */
  private inFlight: BatchOutcome | undefined;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private diskTimer: NodeJS.Timeout | undefined;
  private bytesSinceDiskCheck = 0;
  private underReserve = false;
  /** The last batch failed for lack of space (cleared by the next batch that is written). */
  private noSpace: OutpostError | undefined;
  /** The batch in flight passed WRITE_DEADLINE_MS (cleared when it completes, written or failed). */
  private stalled: OutpostError | undefined;
  /** Lowest and highest key deleted since the last compaction under pressure. */
  private deletedLow: Buffer | undefined;
  private deletedHigh: Buffer | undefined;
  private compacting = false;
  private db: RocksDB;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    options: RocksBrokerStoreOptions = {},
  ) {
    this.minFreeDiskBytes = options.minFreeDiskBytes ?? 0;
    this.writeDeadlineMs = options.writeDeadlineMs ?? WRITE_DEADLINE_MS;
    this.warn = new RateLimitedLog(logger);
    mkdirSync(dir, { recursive: true });
    this.db = new RocksDB(dir, {
      ...(options.memtableBytes === undefined ? {} : { writeBufferSize: options.memtableBytes, maxWriteBufferNumber: 2 }),
      ...blockCacheOptions(options.blockCache),
    });
  }

  async load(): Promise<LoadedBrokerState> {
    await this.db.ready();
    await checkStoreFormat(this.db, { what: 'broker state', dir: this.dir, current: BROKER_FORMAT_VERSION });
    this.checkDisk();
    this.diskTimer = setInterval(() => this.checkDisk(), DISK_CHECK_MS);
    this.diskTimer.unref();
    const sessions: StoredSession[] = [];
    const queues = new Map<string, Outgoing[]>();
    const retained: BrokerMessage[] = [];
    let lastSeq = 0;
    for await (const { key, value } of this.db.iterator({ gte: Buffer.from([SESSION]), lt: Buffer.from([SESSION + 1]), capacity: SCAN_CAPACITY })) {
      void key;
      sessions.push(this.packr.unpack(value) as StoredSession);
    }
    for await (const { key, value } of this.db.iterator({ gte: Buffer.from([QUEUED]), lt: Buffer.from([QUEUED + 1]), capacity: SCAN_CAPACITY })) {
      const { id, seq } = parseQueuedKey(key);
      const outgoing = this.packr.unpack(value) as Outgoing;
      outgoing.seq = seq;
      lastSeq = Math.max(lastSeq, seq);
      const list = queues.get(id) ?? [];
      list.push(outgoing);
      queues.set(id, list);
    }
    const nowMs = Date.now();
    for await (const { value } of this.db.iterator({ gte: Buffer.from([RETAINED]), lt: Buffer.from([RETAINED + 1]), capacity: SCAN_CAPACITY })) {
      const message = this.packr.unpack(value) as BrokerMessage;
      if (message.expiresAtMs === undefined || message.expiresAtMs > nowMs) retained.push(message);
      else this.deleteRetained(message.topic);
    }
    const storedQueues: StoredQueue[] = [...queues].map(([clientId, items]) => ({ clientId, items }));
    this.logger.info({ event: 'broker.state_loaded', sessions: sessions.length, queued: lastSeq === 0 ? 0 : storedQueues.reduce((n, q) => n + q.items.length, 0), retained: retained.length }, 'broker state loaded');
    return { sessions, queues: storedQueues, retained, lastSeq };
  }

  saveSession(session: StoredSession): void {
    this.put(idKey(SESSION, session.clientId), this.packr.pack(session));
  }

  deleteSession(clientId: string): void {
    this.delete(idKey(SESSION, clientId));
    // The queue goes with the session: one range covers every seq of this client.
    const prefix = idKey(QUEUED, clientId);
    const end = Buffer.concat([prefix, Buffer.alloc(9, 0xff)]);
    this.noteDeleted(prefix, end);
    this.enqueue({ kind: 'range', start: prefix, end });
  }

  putQueued(clientId: string, outgoing: Outgoing): void {
    const { message, qos, retain, subscriptionIds } = outgoing;
    this.put(queuedKey(clientId, outgoing.seq), this.packr.pack({ message, qos, retain, subscriptionIds }));
  }

  deleteQueued(clientId: string, seq: number): void {
    this.delete(queuedKey(clientId, seq));
  }

  putRetained(message: BrokerMessage): void {
    this.put(topicKey(message.topic), this.packr.pack(message));
  }

  deleteRetained(topic: string): void {
    this.delete(topicKey(topic));
  }

  /**
   * The batch that holds everything written so far: the one `pending` goes out in (at the end of
   * this event-loop turn, or when the batch being written is done), else the one being written.
   */
  flush(): Promise<void> {
    if (this.pending.length > 0) {
      this.next ??= newOutcome();
      return this.next.promise;
    }
    return this.inFlight?.promise ?? Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.diskTimer !== undefined) clearInterval(this.diskTimer);
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.startBatch();
    }
    // A failed last write is already logged; closing goes on (its publishers were not acknowledged).
    await this.flush().catch(() => undefined);
    while (this.inFlight !== undefined) await this.inFlight.promise.catch(() => undefined);
    await this.db.close();
  }

  private put(key: Buffer, value: Buffer): void {
    this.enqueue({ kind: 'put', key, value });
    this.bytesSinceDiskCheck += key.length + value.length;
    if (this.bytesSinceDiskCheck >= DISK_CHECK_BYTES) this.checkDisk();
  }

  private delete(key: Buffer): void {
    this.noteDeleted(key, key);
    this.enqueue({ kind: 'delete', key });
  }

  private enqueue(op: Op): void {
    this.writes += 1;
    this.pending.push(op);
    // While a batch is being written, its completion starts the next one; after a failure, the retry does.
    if (!this.scheduled && this.inFlight === undefined && this.retryTimer === undefined) {
      this.scheduled = true;
      setImmediate(this.startBatch);
    }
  }

  private readonly startBatch = (): void => {
    this.scheduled = false;
    if (this.inFlight !== undefined || (this.pending.length === 0 && this.retry.length === 0)) return;
    const ops = this.retry.length === 0 ? this.pending : this.retry.concat(this.pending);
    this.retry = [];
    this.pending = [];
    const outcome = this.next ?? newOutcome();
    this.next = undefined;
    this.inFlight = outcome;
    void this.write(ops, outcome);
  };

  private async write(ops: Op[], outcome: BatchOutcome): Promise<void> {
    let failure: OutpostError | undefined;
    const deadline = setTimeout(this.writeStalled, this.writeDeadlineMs, ops.length, outcome);
    deadline.unref();
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
      failure = this.describeFailure(error);
    } finally {
      // An undestroyed batch makes close() hang (rocksdb-native).
      batch.destroy();
      clearTimeout(deadline);
    }
    this.inFlight = undefined;
    if (this.stalled !== undefined) {
      this.logger.info({ event: 'broker.store_write_resumed', written: failure === undefined, ops: ops.length }, 'the stalled broker state write completed; publishes that write broker state are taken again');
      this.stalled = undefined;
      this.updateRefusal();
    }
    if (failure === undefined) {
      if (this.noSpace !== undefined) {
        this.noSpace = undefined;
        this.updateRefusal();
      }
      outcome.resolve();
      // Group commit: what arrived while this batch was written goes out now, as one batch.
      if (this.pending.length > 0) this.startBatch();
      return;
    }
    this.warn.warn(`write:${failure.code}`, { event: 'broker.store_write_failed', code: failure.code, err: failure, ops: ops.length }, 'broker state write failed; the publishes waiting for it are refused and the write is retried');
    if (failure.code === 'OUTPOST_BROKER_DISK_FULL') {
      this.noSpace = failure;
      this.updateRefusal();
    }
    this.keepForRetry(ops);
    outcome.reject(failure);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startBatch();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /**
   * The batch in flight has not completed by its deadline: its publishers are refused now (it
   * stays in flight; if it is written later they were refused a message that is durable, and send
   * it again: at least once), and so are new publishes that would write, until it completes.
   */
  private readonly writeStalled = (ops: number, outcome: BatchOutcome): void => {
    const failure = this.describeFailure(new Error(`the write has not completed in ${this.writeDeadlineMs} ms (RocksDB stopped writes)`));
    this.logger.error({ event: 'broker.store_write_stalled', code: failure.code, err: failure, ops }, 'broker state write has not completed; the publishes waiting for it are refused, and new ones that would write until it completes');
    this.stalled = failure;
    this.updateRefusal();
    outcome.reject(failure);
  };

  private keepForRetry(ops: Op[]): void {
    const excess = ops.length + this.retry.length - MAX_RETRY_OPS;
    if (excess > 0) {
      this.logger.error({ event: 'broker.store_writes_given_up', code: 'OUTPOST_BROKER_WRITE_FAILED', ops: excess }, 'broker state writes failed too long; the oldest are given up (sessions may differ after a restart)');
      ops = ops.slice(excess);
    }
    this.retry = ops.concat(this.retry);
  }

  private describeFailure(error: unknown): OutpostError {
    const freeBytes = freeBytesUnder(this.dir);
    const cause = toOutpostError(error).message;
    if (freeBytes !== undefined && freeBytes < Math.max(DISK_FULL_BELOW_BYTES, this.minFreeDiskBytes)) {
      return new OutpostError('OUTPOST_BROKER_DISK_FULL', `no space left for the broker state under ${this.dir} (${freeBytes} bytes free)`, { details: { freeBytes, cause } });
    }
    return new OutpostError('OUTPOST_BROKER_WRITE_FAILED', `broker state write failed: ${cause}`, { details: { cause } });
  }

  private checkDisk(): void {
    this.bytesSinceDiskCheck = 0;
    if (this.minFreeDiskBytes <= 0 && this.noSpace === undefined) return;
    const freeBytes = freeBytesUnder(this.dir);
    if (freeBytes === undefined) return;
    const under = freeBytes < this.minFreeDiskBytes;
    if (under !== this.underReserve) {
      if (under) this.logger.error({ event: 'broker.disk_full', code: 'OUTPOST_BROKER_DISK_FULL', freeBytes, minFreeDiskBytes: this.minFreeDiskBytes, dir: this.dir }, 'disk almost full: refusing publishes that would write broker state');
      else this.logger.info({ event: 'broker.disk_ok', freeBytes, dir: this.dir }, 'disk space is back: accepting publishes that write broker state');
      this.underReserve = under;
      this.updateRefusal();
    }
    if (this.refusal !== undefined) this.compactDeleted();
  }

  private updateRefusal(): void {
    if (this.underReserve) this.refusal ??= new OutpostError('OUTPOST_BROKER_DISK_FULL', `less than ${this.minFreeDiskBytes} bytes free under ${this.dir}`);
    else this.refusal = this.noSpace ?? this.stalled;
  }

  private noteDeleted(low: Buffer, high: Buffer): void {
    if (this.deletedLow === undefined || Buffer.compare(low, this.deletedLow) < 0) this.deletedLow = low;
    if (this.deletedHigh === undefined || Buffer.compare(high, this.deletedHigh) > 0) this.deletedHigh = high;
  }

  /**
   * Compacts the key range deleted since the last time: deleted queue entries and retained messages
   * give their space back only then, which matters while the disk is short of it (issue 14).
   */
  private compactDeleted(): void {
    const low = this.deletedLow;
    const high = this.deletedHigh;
    if (this.compacting || low === undefined || high === undefined) return;
    this.deletedLow = undefined;
    this.deletedHigh = undefined;
    this.compacting = true;
    this.db
      .compactRange(low, high)
      .catch((error: unknown) => this.warn.warn('compact', { event: 'broker.store_compact_failed', err: error }, 'compacting deleted broker state failed'))
      .finally(() => {
        this.compacting = false;
      });
  }
}

function newOutcome(): BatchOutcome {
  let resolve!: () => void;
  let reject!: (error: OutpostError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody waits for (acknowledgements of delivered messages, session updates) must not
  // become an unhandled rejection; its failure is logged.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
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
