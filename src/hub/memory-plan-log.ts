import { getHeapStatistics } from 'node:v8';
import { mainHeapFlags, type MemoryPlan } from '../config/index.js';
import type { Logger } from '../log/index.js';

const MIB = 1024 * 1024;
/** V8's heap_size_limit is old space plus the young generation (three semi-spaces) and a little more. */
const HEAP_LIMIT_SLACK_MB = 16;

/**
 * Logs how the memory budget is split (event memory.plan), and whether the main thread's heap is
 * bounded: Node takes --max-old-space-size and --max-semi-space-size only on its command line
 * (V8 ignores them once the heap exists), so the operator puts `mainHeapFlags` in NODE_OPTIONS.
 */
export function logMemoryPlan(plan: MemoryPlan, logger: Logger): void {
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / MIB);
  const mainHeapBounded = heapLimitMb <= plan.mainHeap.maxOldSpaceMb + 3 * plan.mainHeap.maxSemiSpaceMb + HEAP_LIMIT_SLACK_MB;
  logger.info(
    {
      event: 'memory.plan',
      budgetMb: Math.round(plan.budgetBytes / MIB),
      minimumMb: Math.ceil(plan.minimumBytes / MIB),
      shards: plan.shards,
      shardWorker: plan.shardWorker,
      writeBufferBytes: plan.writeBufferBytes,
      blockCache: plan.blockCache,
      queuedBytesTotal: plan.queuedBytesTotal,
      queuedBytesPerSession: plan.queuedBytesPerSession,
      connectionBufferBytes: plan.connectionBufferBytes,
      mainHeapLimitMb: heapLimitMb,
      mainHeapBounded,
      mainHeapFlags: mainHeapFlags(plan),
    },
    mainHeapBounded
      ? 'memory budget applied'
      : `memory budget applied except to the main thread's heap: start node with NODE_OPTIONS="${mainHeapFlags(plan)}" to bound it`,
  );
}
