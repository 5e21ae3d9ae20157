/**
 * When the broker's per-topic match cache (broker.ts matchesOf) steps aside. It holds the matches
 * of up to MATCH_CACHE_LIMIT distinct topics; once full it is judged by its hits since it started
 * over. Fewer hits than entries: the topics do not repeat within its reach (tens of thousands of
 * tags, each its own topic), and keeping it costs more than the walk it saves, so publishes match
 * without it for a while. That while doubles each time a fill does not pay, up to
 * MATCH_CACHE_BYPASS_MAX, and goes back to MATCH_CACHE_BYPASS once one does: every fill keeps its
 * matches alive long enough to be promoted to V8's old generation, and a steady stream of fills
 * (50,000 round-robin topics: one every 210,000 publishes) brought full collections every few
 * hundred milliseconds and a 250 MiB mode of the process (docs/benchmarks.md, "The main thread's
 * young generation, held at run time").
 */

/** Distinct topics whose matches are cached; past this the cache starts over. */
export const MATCH_CACHE_LIMIT = 10_000;
/** The first bypass after a fill that did not pay, in publishes. */
export const MATCH_CACHE_BYPASS = 200_000;
/** The longest bypass: about 20 s at 600k msg/s, and a walk per publish costs about a microsecond. */
export const MATCH_CACHE_BYPASS_MAX = 12_800_000;

export interface CacheJudgement {
  /** Publishes that now match without the cache (0: keep caching). */
  readonly bypass: number;
  /** The bypass after the next fill that does not pay. */
  readonly nextBypass: number;
}

/** A full cache with `hits` hits on `size` entries; `bypass`: what the next bypass was to be. */
export function judgeFullCache(hits: number, size: number, bypass: number): CacheJudgement {
  if (hits >= size) return { bypass: 0, nextBypass: MATCH_CACHE_BYPASS };
  return { bypass, nextBypass: Math.min(MATCH_CACHE_BYPASS_MAX, bypass * 2) };
}
