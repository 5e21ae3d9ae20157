/**
 * Piscina task file of one store shard. Each shard has its own Piscina instance with one thread
 * (Piscina has no affinity; one pool per shard gives it), so this module's state — the shard's
 * RocksDB (or in-memory) queues and its route table — belongs to exactly one shard. Tasks run one
 * at a time, in the order the main thread sent them (ShardClient).
 */
import { getHeapStatistics } from 'node:v8';
import { toOutpostError } from '../src/errors/index.js';
import { IdleMemoryRelease } from '../src/hub/idle-memory-release.js';
import { loadNative } from '../src/native/index.js';
import { MemoryShardLog, RocksShardLog, ShardCore, type ShardConfig, type ShardResult, type ShardTask } from '../src/hub/store/worker-index.js';

let core: ShardCore | undefined;
/**
 * Tasks run strictly one after the other, in the order they arrived. Piscina posts every task at
 * once (concurrentTasksPerWorker is high, see ShardClient) and a port keeps order; Piscina's own
 * queue would not (a task submitted from a completion callback can overtake a queued one).
 */
let chain: Promise<unknown> = Promise.resolve();

/** Gives this thread's spare memory back once open and after busy spells (docs/benchmarks.md, "Where the idle memory goes"). */
let idleRelease: IdleMemoryRelease | undefined;

function startIdleRelease(mode: ShardConfig['native']): void {
  if (idleRelease !== undefined || mode === undefined || mode === 'off') return;
  // The main thread already failed the start if `require` could not load the addon.
  const release = loadNative('auto').releaseIdleMemory;
  if (release === undefined) return;
  const started = new IdleMemoryRelease({ release: (collect) => release(collect) });
  idleRelease = started;
  // After the open answer has gone: the first release is a full collection of this isolate.
  setImmediate(() => {
    if (idleRelease === started) started.start();
  });
}

export default function shardTask(task: ShardTask): Promise<ShardResult> {
  const result = chain.then(() => run(task));
  chain = result.catch(() => undefined);
  return result;
}

async function run(task: ShardTask): Promise<ShardResult> {
  try {
    if (task.op === 'open') {
      if (core !== undefined) await core.close();
      const { config } = task;
      const log = config.dir === undefined ? new MemoryShardLog() : new RocksShardLog({ dir: config.dir, memtableBytes: config.memtableBytes, ...(config.blockCache === undefined ? {} : { blockCache: config.blockCache }) });
      const opened = await ShardCore.open(config, log);
      core = opened.core;
      startIdleRelease(config.native);
      // The heap limit the thread got (memoryBudget's resourceLimits), for the store.opened line.
      return { ...opened.result, heapLimitBytes: getHeapStatistics().heap_size_limit };
    }
    if (core === undefined) return { ok: false, error: { code: 'OUTPOST_STORE_CLOSED', message: 'store shard is not open' } };
    switch (task.op) {
      case 'append':
        return await core.append(task.frames, task.commits);
      case 'commit':
        return await core.commit(task.commits);
      case 'read':
        // Piscina transfers only a top-level result; a page is copied once (a memcpy, cheap
        // beside decoding it).
        return await core.read(task.queueId, task.fromSeq, task.limit, task.maxBytes);
      case 'expire':
        return await core.expire(task.nowMs, task.scanLimit);
      case 'drop':
        return await core.drop(task.bytes);
      case 'routes':
        return { ok: true, routes: core.setRoutes(task.routes, task.defaultTtlSec) };
      case 'stats':
        return await core.stats(task.nowMs);
      case 'reclaim':
        await core.reclaim();
        return { ok: true, totals: core.totals() };
      case 'reclaimTrimmed':
        await core.reclaimTrimmed();
        return { ok: true, totals: core.totals() };
      case 'close': {
        const closing = core;
        core = undefined;
        idleRelease?.stop();
        idleRelease = undefined;
        await closing.close();
        return { ok: true, totals: { liveBytes: 0, liveCount: 0 } };
      }
    }
  } catch (error) {
    const failure = toOutpostError(error, task.op === 'open' ? 'OUTPOST_STORE_OPEN_FAILED' : 'OUTPOST_INTERNAL');
    return { ok: false, error: { code: failure.code, message: failure.message } };
  }
}
