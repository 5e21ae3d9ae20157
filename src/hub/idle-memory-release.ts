import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Logger } from '../log/index.js';
import type { MallocStats } from '../native/index.js';

const MIB = 1024 * 1024;
/** How often the main thread looks whether it has been idle. */
export const IDLE_CHECK_INTERVAL_MS = 30_000;
/**
 * Event-loop utilization below which an interval counts as idle: an idle hub with a few
 * keep-alives and the metrics timer is at about 0.1 %; any message load is far above 2 %.
 */
export const IDLE_UTILIZATION = 0.02;

export interface IdleMemoryReleaseOptions {
  /** The addon's releaseIdleMemory (src/native): V8's low-memory collection when `collect`, then malloc_trim. */
  readonly release: (collect: boolean) => boolean;
  /**
   * Whether the release at the end of start-up collects too (true by default). False on the main
   * thread: a collection there leaves V8 sizing the heap from a small live set, and the storms that
   * come right after start-up (reconnecting devices) paid for it (docs/benchmarks.md, "Where the
   * idle memory goes"); start-up then counts as a busy spell, so the first idle interval collects.
   */
  readonly collectAtStartup?: boolean;
  /** Absent in a shard worker (it has no logger): releases are not logged there. */
  readonly logger?: Logger;
  readonly intervalMs?: number;
  /** Utilization under which an interval is idle; IDLE_UTILIZATION by default. */
  readonly idleUtilization?: number;
  /** malloc's totals after a release (the addon's mallocStats), logged with it; absent: not logged. */
  readonly mallocStats?: () => MallocStats | undefined;
  /** The process's resident set now (tests read it from elsewhere); process.memoryUsage.rss by default. */
  readonly rss?: () => number;
}

/**
 * Gives a thread's spare memory back when the hub is idle (docs/benchmarks.md, "Where the idle
 * memory goes"): once right after start-up, whose allocation burst leaves V8's young generation at
 * its largest (16 MiB) and malloc's arenas full of freed pages (malloc's pages only, with
 * `collectAtStartup` false), and again after each busy spell once an interval has passed idle.
 * Each release is a full collection of a few ms on an idle thread; none happens while the hub is
 * busy, and none twice in a row without work between (an idle hub is not collected every
 * interval). Nothing here is on the message path.
 */
export class IdleMemoryRelease {
  private timer: NodeJS.Timeout | undefined;
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  /** True once an interval was busy since the last release. */
  private busySinceRelease = false;
  private releases = 0;
  /**
   * The interval after a release is not judged: the collection's follow-up work (sweeping,
   * finalizers) runs on the loop then and would count as load, bringing another release.
   */
  private skipNext = false;
  private checks = 0;

  constructor(private readonly options: IdleMemoryReleaseOptions) {}

  /** Releases now (the end of start-up) and then checks every interval; the timer keeps no process alive. */
  start(): void {
    this.releaseNow('startup');
    if (this.options.collectAtStartup === false) this.busySinceRelease = true;
    this.timer = setInterval(() => this.check(), this.options.intervalMs ?? IDLE_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Releases done so far (start-up included). */
  get count(): number {
    return this.releases;
  }

  /** Interval checks done so far. */
  get checked(): number {
    return this.checks;
  }

  private check(): void {
    this.checks += 1;
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    if (this.skipNext) {
      this.skipNext = false;
      return;
    }
    if (utilization >= (this.options.idleUtilization ?? IDLE_UTILIZATION)) {
      this.busySinceRelease = true;
      return;
    }
    if (this.busySinceRelease) this.releaseNow('idle');
  }

  private releaseNow(reason: 'startup' | 'idle'): void {
    const rss = this.options.rss ?? (() => process.memoryUsage.rss());
    const before = rss();
    const startedAt = performance.now();
    const trimmed = this.options.release(reason === 'idle' || this.options.collectAtStartup !== false);
    const after = rss();
    this.releases += 1;
    this.busySinceRelease = false;
    this.skipNext = true;
    // The release itself counts as work in the next interval's utilization: start it afresh.
    this.last = performance.eventLoopUtilization();
    const malloc = this.options.logger === undefined ? undefined : this.options.mallocStats?.();
    const mb = (bytes: number) => +(bytes / MIB).toFixed(1);
    this.options.logger?.debug(
      {
        event: 'memory.released',
        reason,
        rssBeforeMb: mb(before),
        rssAfterMb: mb(after),
        trimmed,
        ms: +(performance.now() - startedAt).toFixed(1),
        // What malloc holds after the trim: its arenas (and how much of that is free) and its mapped chunks.
        ...(malloc === undefined ? {} : { mallocArenaMb: mb(malloc.arena), mallocFreeMb: mb(malloc.free), mallocMappedMb: mb(malloc.mapped) }),
      },
      'idle memory given back',
    );
  }
}
