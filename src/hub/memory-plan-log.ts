import { getHeapStatistics } from 'node:v8';
import { mainHeapFlags, type MemoryPlan } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { NativeFunctions } from '../native/index.js';
import { describeMallocThresholds, holdMallocThresholds } from './malloc-thresholds.js';
import { HELD_GROWTH_PERCENT, OldSpaceGrowth, RELAXED_GROWTH_PERCENT } from './old-space-growth.js';
import { nodeFlagSet, semiSpaceSetOnCommandLine, UNGATED_SEMI_SPACE_BYTES, YoungGenerationCap } from './young-generation-cap.js';

const MIB = 1024 * 1024;

/** What applyMemoryPlan holds while the hub runs (each stopped with it), and the young generation's cap, which the hub gives its message count. */
export interface AppliedMemoryPlan {
  readonly holds: ReadonlyArray<{ stop(): void }>;
  /** Absent when node was given its own --max-semi-space-size. */
  readonly youngGeneration: YoungGenerationCap | undefined;
}
/** V8's heap_size_limit is old space plus the young generation (three semi-spaces) and a little more. */
const HEAP_LIMIT_SLACK_MB = 16;
/**
 * Applies the main thread's part of the memory budget that can be applied while running (its
 * young generation, YoungGenerationCap, unless node was given its own `--max-semi-space-size`)
 * and logs how the budget is split (event memory.plan), and whether the main thread's old space
 * is bounded: Node takes --max-old-space-size only on its command line (V8 ignores it once the
 * heap exists), so the operator puts `mainHeapFlags` in NODE_OPTIONS; until then the old space's
 * growth between full collections is held at HELD_GROWTH_PERCENT while they are rare
 * (OldSpaceGrowth), unless node was given its own --heap-growing-percent. It also holds glibc's
 * malloc thresholds (src/hub/malloc-thresholds.ts) with the addon's `holdMallocThresholds`.
 */
export function applyMemoryPlan(plan: MemoryPlan, logger: Logger, native: Pick<NativeFunctions, 'holdMallocThresholds' | 'holdSemiSpaceGrowthFactor'>): AppliedMemoryPlan {
  const holds: Array<{ stop(): void }> = [];
  const ownFlag = semiSpaceSetOnCommandLine();
  let youngGeneration: YoungGenerationCap | undefined;
  if (!ownFlag) {
    youngGeneration = new YoungGenerationCap(plan.mainHeap.maxSemiSpaceMb * MIB, native.holdSemiSpaceGrowthFactor);
    // Not past UNGATED_SEMI_SPACE_BYTES until the hub counts its messages (start-up has none to grow for).
    youngGeneration.countMessagesWith(() => 0);
    holds.push(youngGeneration);
  }
  const mallocThresholds = describeMallocThresholds(holdMallocThresholds(native.holdMallocThresholds));
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / MIB);
  const mainHeapBounded = heapLimitMb <= plan.mainHeap.maxOldSpaceMb + 3 * plan.mainHeap.maxSemiSpaceMb + HEAP_LIMIT_SLACK_MB;
  let mainHeapGrowth: string;
  if (nodeFlagSet('heap-growing-percent')) mainHeapGrowth = 'node flag';
  else if (mainHeapBounded) mainHeapGrowth = "V8's, for the bounded heap";
  else {
    holds.push(new OldSpaceGrowth(logger));
    mainHeapGrowth = `${HELD_GROWTH_PERCENT}% at run time, ${RELAXED_GROWTH_PERCENT}% while full collections come often`;
  }
  logMemoryPlan(plan, logger, { heapLimitMb, mainHeapBounded, mainYoungGeneration: ownFlag ? 'node flag' : `capped at run time, past ${UNGATED_SEMI_SPACE_BYTES / MIB} MiB for messages`, mainHeapGrowth, mallocThresholds });
  return { holds, youngGeneration };
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
