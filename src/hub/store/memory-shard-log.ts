import type { LogBatch, ReadPage, ShardLog, StreamState } from './shard-log.js';

interface MemoryQueue {
  /** Sequence number of values[start]. */
  base: number;
  start: number;
  values: Uint8Array[];
}

/**
 * The shard storage when UsePersistentStorage=false: the same queues and states as RocksShardLog,
 * in the shard worker's memory, lost when the process ends. Batches apply all at once on commit,
 * like a RocksDB write batch.
 */
export class MemoryShardLog implements ShardLog {
  readonly persistent = false;
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly states = new Map<string, StreamState>();

  open(): Promise<StreamState[]> {
    return Promise.resolve([...this.states.values()].map((state) => ({ ...state })));
  }

  batch(): LogBatch {
    const ops: (() => void)[] = [];
    return {
      put: (queueId, seq, value) => ops.push(() => this.put(queueId, seq, value)),
      trim: (queueId, fromSeq, toSeq) => ops.push(() => this.trim(queueId, fromSeq, toSeq)),
      putState: (state) => {
        const copy = { ...state };
        ops.push(() => this.states.set(copy.id, copy));
      },
      commit: () => {
        for (const op of ops) op();
        ops.length = 0;
        return Promise.resolve();
      },
      abort: () => {
        ops.length = 0;
      },
    };
  }

  read(queueId: string, fromSeq: number, limit: number, maxBytes: number): Promise<ReadPage> {
    const queue = this.queues.get(queueId);
    if (queue === undefined) return Promise.resolve({ firstSeq: fromSeq, values: [] });
    const firstSeq = Math.max(fromSeq, queue.base);
    const values: Uint8Array[] = [];
    let bytes = 0;
    for (let i = queue.start + (firstSeq - queue.base); i < queue.values.length && values.length < limit && bytes < maxBytes; i++) {
      const value = queue.values[i]!;
      values.push(value);
      bytes += value.byteLength;
    }
    return Promise.resolve({ firstSeq, values });
  }

  reclaim(): Promise<void> {
    return Promise.resolve();
  }

  diskBytes(): number {
    return 0;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private put(queueId: string, seq: number, value: Uint8Array): void {
    let queue = this.queues.get(queueId);
    if (queue === undefined) {
      queue = { base: seq, start: 0, values: [] };
      this.queues.set(queueId, queue);
    }
    if (queue.values.length - queue.start === 0) {
      queue.base = seq;
      queue.start = 0;
      queue.values.length = 0;
    }
    // Sequence numbers are consecutive per queue (the shard assigns them).
    // A copy: the value may be a view into a transferred batch that is reused.
    queue.values.push(Uint8Array.prototype.slice.call(value));
  }

  private trim(queueId: string, fromSeq: number, toSeq: number): void {
    const queue = this.queues.get(queueId);
    if (queue === undefined) return;
    const live = queue.values.length - queue.start;
    const remove = Math.min(Math.max(0, toSeq - queue.base), live);
    void fromSeq;
    for (let i = queue.start; i < queue.start + remove; i++) queue.values[i] = undefined as unknown as Uint8Array;
    queue.start += remove;
    queue.base += remove;
    // Amortized O(1): shift the array only when the dead prefix is the larger half.
    if (queue.start > 1024 && queue.start * 2 > queue.values.length) {
      queue.values = queue.values.slice(queue.start);
      queue.start = 0;
    }
  }
}
