import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { mainHeapFlags, type MemoryPlan } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { NativeFunctions } from '../native/index.js';
import { describeMallocThresholds, holdMallocThresholds } from './malloc-thresholds.js';
import { nodeFlagSet, semiSpaceSetOnCommandLine, YoungGenerationCap } from './young-generation-cap.js';

const MIB = 1024 * 1024;
/** V8's heap_size_limit is old space plus the young generation (three semi-spaces) and a little more. */
const HEAP_LIMIT_SLACK_MB = 16;
/**
 * How much the old space may grow past what the last full collection left before the next one,
 * when the main thread's old space is not bounded (no --max-old-space-size): V8 then sizes its
 * growth for a heap of gigabytes, up to 4x the live set, and the connection storm's main heap
 * peaked at 50 MiB of old space for 16 live at idle. Bounded to the plan's few tens of MiB, V8
 * itself would grow by at most 1.3x; 1.5x measured the same peaks as 1.25x (storm 130-132 MiB
 * against 141-143, routed 181-183 against 189-190, the broker scenarios 3-5 MiB lower) at 0-5 %
 * less throughput (docs/benchmarks.md, "The main thread's old space"). The flag is the process's:
 * the shard workers, bounded by their resourceLimits, take it too.
 */
export const MAIN_HEAP_GROWING_PERCENT = 50;

/**
 * Applies the main thread's part of the memory budget that can be applied while running (its
 * young generation, YoungGenerationCap, unless node was given its own `--max-semi-space-size`)
 * and logs how the budget is split (event memory.plan), and whether the main thread's old space
 * is bounded: Node takes --max-old-space-size only on its command line (V8 ignores it once the
 * heap exists), so the operator puts `mainHeapFlags` in NODE_OPTIONS; until then the old space's
 * growth between full collections is held at MAIN_HEAP_GROWING_PERCENT (unless node was given its
 * own --heap-growing-percent). It also holds glibc's malloc thresholds
 * (src/hub/malloc-thresholds.ts) with the addon's `holdMallocThresholds`.
 */
export function applyMemoryPlan(plan: MemoryPlan, logger: Logger, native: Pick<NativeFunctions, 'holdMallocThresholds' | 'holdSemiSpaceGrowthFactor'>): YoungGenerationCap | undefined {
  const ownFlag = semiSpaceSetOnCommandLine();
  const cap = ownFlag ? undefined : new YoungGenerationCap(plan.mainHeap.maxSemiSpaceMb * MIB, native.holdSemiSpaceGrowthFactor);
  const mallocThresholds = describeMallocThresholds(holdMallocThresholds(native.holdMallocThresholds));
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / MIB);
  const mainHeapBounded = heapLimitMb <= plan.mainHeap.maxOldSpaceMb + 3 * plan.mainHeap.maxSemiSpaceMb + HEAP_LIMIT_SLACK_MB;
  let mainHeapGrowth: string;
  if (nodeFlagSet('heap-growing-percent')) mainHeapGrowth = 'node flag';
  else if (mainHeapBounded) mainHeapGrowth = "V8's, for the bounded heap";
  else {
    setFlagsFromString(`--heap-growing-percent=${MAIN_HEAP_GROWING_PERCENT}`);
    mainHeapGrowth = `${MAIN_HEAP_GROWING_PERCENT}% at run time`;
  }
  logMemoryPlan(plan, logger, { heapLimitMb, mainHeapBounded, mainYoungGeneration: ownFlag ? 'node flag' : 'capped at run time', mainHeapGrowth, mallocThresholds });
  return cap;
}

function logMemoryPlan(
  plan: MemoryPlan,
  logger: Logger,
  applied: { heapLimitMb: number; mainHeapBounded: boolean; mainYoungGeneration: string; mainHeapGrowth: string; mallocThresholds: string },
): void {
  const { heapLimitMb, mainHeapBounded, mainYoungGeneration, mainHeapGrowth, mallocThresholds } = applied;
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
      mainSemiSpaceMb: plan.mainHeap.maxSemiSpaceMb,
      mainYoungGeneration,
      mainHeapGrowth,
      mallocThresholds,
    },
    mainHeapBounded
      ? 'memory budget applied'
      : `memory budget applied except to the main thread's old space: start node with NODE_OPTIONS="${mainHeapFlags(plan)}" to bound it`,
  );
}
