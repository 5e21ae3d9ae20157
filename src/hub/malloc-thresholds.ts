/**
 * glibc's malloc thresholds, held for the hub's process (docs/benchmarks.md, "malloc's thresholds
 * held"). glibc maps an allocation of at least its mmap threshold on its own and gives it back
 * when freed, and carves smaller ones from its arenas. The threshold starts at 128 KiB, but each
 * time a mapped chunk is freed glibc raises it to that chunk's size (up to 32 MiB): after the
 * first large Buffers of a busy spell come and go (socket reads, batches moved to the store's
 * workers), allocations of that size come from the arenas too, where what is freed between chunks
 * still in use stays resident. Held at its starting value, they keep being mapped and given back.
 * Measured: the durable routed benchmark's peak RSS 187-191 MiB against 208-232 with glibc's
 * adjustment, at the same throughput; the broker scenarios 2-3 MiB lower.
 */

/** The mmap threshold held: glibc's own starting value. */
export const MALLOC_MMAP_THRESHOLD_BYTES = 128 * 1024;

/**
 * glibc's environment variables that set a threshold themselves (each also turns the adjustment
 * off): an operator who set one chose, and it is left alone. MALLOC_ARENA_MAX is not one of them.
 */
const OPERATOR_VARIABLES = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_'] as const;
/** The same settings as glibc tunables (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…:…). */
const OPERATOR_TUNABLES = /glibc\.malloc\.(?:mmap_threshold|trim_threshold|top_pad|mmap_max)=/;

/**
 * What became of the thresholds: `held` at MALLOC_MMAP_THRESHOLD_BYTES; `operator` when the
 * environment sets one (the variable's name says which); `unavailable` without the addon or glibc.
 */
export type MallocThresholds = { readonly state: 'held'; readonly mmapThresholdBytes: number } | { readonly state: 'operator'; readonly variable: string } | { readonly state: 'unavailable' };

/** Holds the thresholds with the addon's `hold` (NativeFunctions.holdMallocThresholds) unless the environment set them. */
export function holdMallocThresholds(hold: ((bytes: number) => boolean) | undefined, env: NodeJS.ProcessEnv = process.env): MallocThresholds {
  const variable = OPERATOR_VARIABLES.find((name) => env[name] !== undefined);
  if (variable !== undefined) return { state: 'operator', variable };
  if (env.GLIBC_TUNABLES !== undefined && OPERATOR_TUNABLES.test(env.GLIBC_TUNABLES)) return { state: 'operator', variable: 'GLIBC_TUNABLES' };
  if (hold === undefined || !hold(MALLOC_MMAP_THRESHOLD_BYTES)) return { state: 'unavailable' };
  return { state: 'held', mmapThresholdBytes: MALLOC_MMAP_THRESHOLD_BYTES };
}

/** The memory.plan log field. */
export function describeMallocThresholds(thresholds: MallocThresholds): string {
  switch (thresholds.state) {
    case 'held':
      return `held (mmap threshold ${thresholds.mmapThresholdBytes} bytes)`;
    case 'operator':
      return `set by the operator (${thresholds.variable})`;
    case 'unavailable':
      return "glibc's adjustment (no native addon, or not glibc)";
  }
}
