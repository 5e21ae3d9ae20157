import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from '../log/index.js';

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
export const HELD_GROWTH_PERCENT = 50;
/**
 * The growth while full collections come often: 3x what the last one left. Measured under the AMQP
 * routed load (alternated runs, session 14): V8's own factor (about 4x there) 43-49k msg/s at a
 * 229-237 MiB peak, 200 % 44-46k msg/s at 213-217 MiB, the held 50 % 38-42k at 182-188 MiB.
 */
export const RELAXED_GROWTH_PERCENT = 200;
/** `--heap-growing-percent=0`: V8 sizes the growth itself again (its heap controller's own factor), once the hub stops. */
export const V8_GROWTH_PERCENT = 0;

/**
 * When the growth is held and full collections come this often, it is relaxed: that many
 * consecutive full collections, each less than RELAX_INTERVAL_MS after the one before. Measured
 * (session 14), with the growth held: under the AMQP routed load, whose in-flight deliveries
 * outlive two scavenges and are promoted, a full collection every 150-280 ms (live old space
 * steady at 19-21 MiB), which cost 20 % of its throughput; the SAS connection storm every 620-1,200
 * ms (live 36-47 MiB: relaxed, its peak rose from 162 to 215-240 MiB); MQTT routed every 3 s; the
 * broker scenarios and the plain storm none after start-up (whose three come within 1.6 s).
 */
export const RELAX_AFTER_COLLECTIONS = 5;
export const RELAX_INTERVAL_MS = 400;
/** A full collection this long after the one before (the load is gone: the idle release's is one) holds the growth again. */
export const HOLD_AFTER_QUIET_MS = 30_000;

export type GrowthState = 'held' | 'relaxed';

/** The policy's memory: whether the growth is held, when the last full collection was, and how many came close in a row. */
export interface GrowthTrack {
  readonly state: GrowthState;
  readonly lastMajorAt: number | undefined;
  /** Consecutive full collections that came less than RELAX_INTERVAL_MS after the one before. */
  readonly closeInRow: number;
}

export const INITIAL_TRACK: GrowthTrack = { state: 'held', lastMajorAt: undefined, closeInRow: 0 };

/** The policy, pure: what a full collection at `at` (ms, any monotonic clock) makes of the track. */
export function afterMajorCollection(track: GrowthTrack, at: number, holdAfterQuietMs: number = HOLD_AFTER_QUIET_MS): GrowthTrack {
  const since = track.lastMajorAt === undefined ? Infinity : at - track.lastMajorAt;
  const closeInRow = since < RELAX_INTERVAL_MS ? track.closeInRow + 1 : 0;
  let state = track.state;
  if (state === 'held' && closeInRow >= RELAX_AFTER_COLLECTIONS) state = 'relaxed';
  else if (state === 'relaxed' && since >= holdAfterQuietMs) state = 'held';
  return { state, lastMajorAt: at, closeInRow: state === track.state ? closeInRow : 0 };
}

export interface OldSpaceGrowthOptions {
  /** Sets V8's flag (setFlagsFromString by default). */
  readonly setPercent?: (percent: number) => void;
  /** HOLD_AFTER_QUIET_MS by default (tests shorten it). */
  readonly holdAfterQuietMs?: number;
}

/**
 * Holds the main thread's old-space growth at HELD_GROWTH_PERCENT while full collections are rare,
 * and lets it grow by RELAXED_GROWTH_PERCENT while they come in quick succession (a load that
 * promotes faster than a 1.5x heap can hold pays for a full collection every few hundred ms
 * otherwise), holding it again once they are rare. V8 reads the flag each time it sizes the heap
 * after a full collection, so a change takes effect from the next one. Each change is logged
 * (memory.old_space_growth).
 */
export class OldSpaceGrowth {
  private track: GrowthTrack = INITIAL_TRACK;
  private readonly observer: PerformanceObserver;

  private readonly setPercent: (percent: number) => void;
  private readonly holdAfterQuietMs: number;

  constructor(
    private readonly logger: Logger,
    options: OldSpaceGrowthOptions = {},
  ) {
    this.setPercent = options.setPercent ?? ((percent) => setFlagsFromString(`--heap-growing-percent=${percent}`));
    this.holdAfterQuietMs = options.holdAfterQuietMs ?? HOLD_AFTER_QUIET_MS;
    this.setPercent(HELD_GROWTH_PERCENT);
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.majorCollection(entry.startTime + entry.duration);
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  get state(): GrowthState {
    return this.track.state;
  }

  /** A full collection ended at `at` (performance.now()). */
  majorCollection(at: number): void {
    const before = this.track;
    this.track = afterMajorCollection(before, at, this.holdAfterQuietMs);
    if (this.track.state === before.state) return;
    const percent = this.track.state === 'held' ? HELD_GROWTH_PERCENT : RELAXED_GROWTH_PERCENT;
    this.setPercent(percent);
    this.logger.info(
      { event: 'memory.old_space_growth', growthPercent: percent },
      this.track.state === 'held'
        ? `full collections are rare again: the main thread's old space grows by at most ${percent} % between them`
        : `${RELAX_AFTER_COLLECTIONS} full collections came less than ${RELAX_INTERVAL_MS} ms apart: the main thread's old space grows by up to ${percent} % between them while they come that often`,
    );
  }

  /** Stops observing and gives V8 its own growth back. */
  stop(): void {
    this.observer.disconnect();
    this.setPercent(V8_GROWTH_PERCENT);
  }
}
