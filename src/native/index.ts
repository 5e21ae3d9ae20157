/**
 * The optional native addon (native/, N-API) behind the same interfaces as its TypeScript
 * references. The mode comes from config.native (OUTPOST_NATIVE), passed in by whoever composes
 * the runtime: `off` never loads the addon, `auto` uses it when it loads, `require` throws when it
 * does not. Loading is per thread (the addon keeps no static state, so worker threads load it too).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { OutpostError } from '../errors/index.js';
import { scanPacketsTs, type ScanPackets } from './packet-scan.js';
import { TsTopicFilterIndex, type TopicFilterIndex } from './topic-filter-index.js';

export { SCAN_HEADER, SCAN_MALFORMED, SCAN_OK, SCAN_STRIDE, SCAN_TOO_LARGE, scanOutput, scanPacketsTs, type ScanPackets } from './packet-scan.js';
export { TsTopicFilterIndex, type TopicFilterIndex } from './topic-filter-index.js';

export type NativeMode = 'auto' | 'off' | 'require';

/** Where `npm ci` (scripts/build-native.js, node-gyp) puts the addon. */
export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/outpost_native.node', import.meta.url));

/** The addon's exports, as native/outpost_native.c defines them. */
interface Addon {
  scanPackets: ScanPackets;
  filterIndexCreate(): object;
  filterIndexAdd(index: object, filter: string): number;
  filterIndexRemove(index: object, id: number): boolean;
  filterIndexMatch(index: object, topic: string, out: Uint32Array): number;
  filterIndexSize(index: object): number;
  /** V8's low-memory collection on this thread's isolate, then glibc's malloc_trim(0); true if trim returned pages. */
  releaseIdleMemory(collect: boolean): boolean;
  /** glibc's mmap threshold fixed at `bytes` (mallopt): true if held. */
  holdMallocThresholds(bytes: number): boolean;
  /** glibc's mallinfo2(), null without it. */
  mallocStats(): MallocStats | null;
  /** V8's semi-space growth factor set now and before every collection of this thread's isolate; 0 stops. */
  holdSemiSpaceGrowthFactor(factor: number): void;
}

/** malloc's state for every arena together, in bytes (glibc's mallinfo2). */
export interface MallocStats {
  /** Obtained from the system by the arenas (their heaps), in use or not. */
  readonly arena: number;
  readonly inUse: number;
  /** Free inside the arenas: resident unless trimmed or never touched. */
  readonly free: number;
  /** Chunks mapped on their own (at least the mmap threshold each), and how many. */
  readonly mapped: number;
  readonly mappedChunks: number;
}

export interface NativeFunctions {
  /** Which implementation these are. */
  readonly implementation: 'native' | 'typescript';
  /** Why the addon is not in use (mode off, or the load error), when it is not. */
  readonly reason: string | undefined;
  readonly scanPackets: ScanPackets;
  createTopicFilterIndex(): TopicFilterIndex;
  /**
   * Gives an idle thread's spare memory back: with `collect`, V8's low-memory collection (it also
   * shrinks the young generation V8 keeps at its largest after a burst), then malloc's free pages
   * (malloc_trim, every thread's arena). Only with the addon, which reaches V8's isolate API. Blocks the
   * thread for a full collection; for idle moments only (src/hub/idle-memory-release.ts).
   */
  readonly releaseIdleMemory: ((collect: boolean) => boolean) | undefined;
  /**
   * Fixes glibc's mmap threshold at `bytes` for the whole process, which also stops glibc from
   * raising it (and the trim threshold) after each large free (src/hub/malloc-thresholds.ts). True
   * if held; only with the addon on glibc.
   */
  readonly holdMallocThresholds: ((bytes: number) => boolean) | undefined;
  /** malloc's totals (glibc's mallinfo2), undefined without the addon or glibc 2.33. */
  readonly mallocStats: (() => MallocStats | undefined) | undefined;
  /**
   * Sets V8's `--semi-space-growth-factor` now and again before every collection of the calling
   * thread's isolate (0 stops): V8 sets the flag back whenever a worker thread starts, and a
   * collection in between would grow the young generation (src/hub/young-generation-cap.ts).
   */
  readonly holdSemiSpaceGrowthFactor: ((factor: number) => void) | undefined;
}

class NativeTopicFilterIndex implements TopicFilterIndex {
  private readonly handle: object;

  constructor(private readonly addon: Addon) {
    this.handle = addon.filterIndexCreate();
  }

  get size(): number {
    return this.addon.filterIndexSize(this.handle);
  }

  add(filter: string): number {
    return this.addon.filterIndexAdd(this.handle, filter);
  }

  remove(id: number): boolean {
    return this.addon.filterIndexRemove(this.handle, id);
  }

  match(topic: string, out: Uint32Array): number {
    return this.addon.filterIndexMatch(this.handle, topic, out);
  }
}

const TYPESCRIPT = (reason: string): NativeFunctions => ({
  implementation: 'typescript',
  reason,
  scanPackets: scanPacketsTs,
  createTopicFilterIndex: () => new TsTopicFilterIndex(),
  releaseIdleMemory: undefined,
  holdMallocThresholds: undefined,
  mallocStats: undefined,
  holdSemiSpaceGrowthFactor: undefined,
});

let loaded: { addon: Addon } | { error: string } | undefined;

function loadAddon(): { addon: Addon } | { error: string } {
  if (loaded !== undefined) return loaded;
  if (!existsSync(ADDON_PATH)) {
    loaded = { error: `${ADDON_PATH} not built` };
    return loaded;
  }
  try {
    loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon };
  } catch (error) {
    loaded = { error: error instanceof Error ? error.message : String(error) };
  }
  return loaded;
}

/** The implementations to use in this thread for `mode`; throws OUTPOST_NATIVE_UNAVAILABLE for `require` without the addon. */
export function loadNative(mode: NativeMode): NativeFunctions {
  if (mode === 'off') return TYPESCRIPT('native: off');
  const result = loadAddon();
  if ('error' in result) {
    if (mode === 'require') {
      throw new OutpostError('OUTPOST_NATIVE_UNAVAILABLE', `native addon required (native: require) but it cannot be loaded: ${result.error}`, { details: { path: ADDON_PATH } });
    }
    return TYPESCRIPT(result.error);
  }
  const addon = result.addon;
  return {
    implementation: 'native',
    reason: undefined,
    scanPackets: addon.scanPackets,
    createTopicFilterIndex: () => new NativeTopicFilterIndex(addon),
    // An addon built before one of these existed lacks its export: that part is simply not done then.
    releaseIdleMemory: typeof addon.releaseIdleMemory === 'function' ? (collect: boolean) => addon.releaseIdleMemory(collect) : undefined,
    holdMallocThresholds: typeof addon.holdMallocThresholds === 'function' ? (bytes: number) => addon.holdMallocThresholds(bytes) : undefined,
    mallocStats: typeof addon.mallocStats === 'function' ? () => addon.mallocStats() ?? undefined : undefined,
    holdSemiSpaceGrowthFactor: typeof addon.holdSemiSpaceGrowthFactor === 'function' ? (factor: number) => addon.holdSemiSpaceGrowthFactor(factor) : undefined,
  };
}
