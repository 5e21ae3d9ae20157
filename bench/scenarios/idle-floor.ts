// idle-floor — what holds the idle hub's resident memory up (issue 20): the hub with no client,
// settled, beside two processes measured the same way in the same run:
//   - bare Node: `node` idling with nothing loaded, the floor of any Node program;
//   - Outpost's code loaded: `node` that imports the CLI's whole module graph (every command,
//     the hub's start-up and what it imports, RocksDB's addon among them), starts nothing and
//     idles, with the smallest young generation (`--max-semi-space-size=1`) so that it reads
//     as low as that code can. It is this checkout's build, also when --outpost-root runs
//     another hub.
// The hub is read once its first idle interval has passed (the release of start-up's garbage,
// src/hub/idle-memory-release.ts), the other two after CHILD_SETTLE_MS. Each reading splits the
// resident set into anonymous memory (heaps, stacks) and file-backed pages, and names the pages of
// the `node` executable and of RocksDB's library, which count in RSS though they are shared and
// clean. What the hub holds above the second process is its running state; what the second holds
// above the first is the cost of Outpost's code (docs/benchmarks.md, "The idle floor").
// Run: npm run bench -- idle-floor [--quick]
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { IDLE_CHECK_INTERVAL_MS } from '../../src/hub/idle-memory-release.js';
import { sleep, sleepUntil } from '../lib/measure.js';
import { statusField } from '../lib/proc-stats.js';
import { stopChild } from '../lib/targets.js';
import type { Scenario } from './scenario.js';

/** How long the two comparison processes idle before they are read (start-up over, nothing pending). */
const CHILD_SETTLE_MS = 14_000;
/** The hub is read this long after the run starts: after its first idle interval has released. */
const HUB_SETTLE_MS = IDLE_CHECK_INTERVAL_MS + 8_000;
const QUICK_SETTLE_MS = 2_000;
const CLI_MAIN = new URL('../../src/cli/main.js', import.meta.url).href;
/** A file-backed mapping's path ends with this for RocksDB's addon (rocksdb-native's prebuild). */
const ROCKSDB_LIBRARY = 'rocksdb-native.node';

/** A process's resident set, split as /proc reports it. */
export interface Residency {
  readonly rssBytes: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
  /** Resident pages of the `node` executable itself. */
  readonly nodeExecutableBytes: number;
  /** Resident pages of RocksDB's library; 0 when it is not loaded. */
  readonly rocksdbLibraryBytes: number;
}

export const idleFloor: Scenario = {
  name: 'idle-floor',
  description: 'the idle hub\'s RSS, settled, beside bare Node and a Node process with Outpost\'s code loaded and nothing started',
  targets: ['outpost'],
  async run(target, options) {
    if (target.pid === undefined) throw new Error('idle-floor reads the hub\'s /proc: it needs the hub\'s pid');
    const startedMs = Date.now();
    const childSettleMs = options.quick ? QUICK_SETTLE_MS : CHILD_SETTLE_MS;
    const hubSettleMs = options.quick ? QUICK_SETTLE_MS : HUB_SETTLE_MS;
    // One after the other, while the hub settles: two start-ups at once would only slow each other.
    const bare = await idleChild(['-e', 'setInterval(() => {}, 1 << 30)'], childSettleMs);
    const loaded = await idleChild(['--max-semi-space-size=1', '--input-type=module', '-e', `await import(${JSON.stringify(CLI_MAIN)}); setInterval(() => {}, 1 << 30);`], childSettleMs);
    await sleepUntil(startedMs + hubSettleMs);
    const hub = residencyOf(target.pid);
    if (hub === undefined) throw new Error('the hub exited before it was read');
    const windowSec = (Date.now() - startedMs) / 1000;
    const warnings: string[] = [];
    if (loaded.rocksdbLibraryBytes === 0) warnings.push('RocksDB\'s library was not mapped in the process with Outpost\'s code loaded');
    return {
      params: { childSettleMs, hubSettleMs, seed: options.seed },
      windowSec,
      throughput: { value: hub.rssBytes, unit: 'B', what: 'the idle hub\'s resident bytes, settled (lower is better)' },
      metrics: {
        ...prefixed('hub', hub),
        ...prefixed('codeLoaded', loaded),
        ...prefixed('bareNode', bare),
        hubAboveCodeLoadedBytes: hub.rssBytes - loaded.rssBytes,
        codeLoadedAboveBareNodeBytes: loaded.rssBytes - bare.rssBytes,
      },
      latency: null,
      broker: null,
      loadgen: { processes: 0, cpuSec: 0, maxProcessUtilization: 0 },
      cpuMicrosPerUnit: { broker: null, loadgen: null },
      warnings,
    };
  },
};

/** Starts `node <args>`, reads its residency after `settleMs`, stops it. */
async function idleChild(args: readonly string[], settleMs: number): Promise<Residency> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    await sleep(settleMs);
    const residency = child.pid === undefined || child.exitCode !== null ? undefined : residencyOf(child.pid);
    if (residency === undefined) throw new Error(`node ${args.join(' ')} exited before it was read: ${stderr.trim()}`);
    return residency;
  } finally {
    await stopChild(child)();
  }
}

/** The residency of a live process, or undefined when it is gone. */
export function residencyOf(pid: number): Residency | undefined {
  let status: string;
  let smaps: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const byPath = residentByPath(smaps);
  let nodeExecutableBytes = 0;
  let rocksdbLibraryBytes = 0;
  const executable = executablePath(pid);
  for (const [path, bytes] of byPath) {
    if (path === executable) nodeExecutableBytes += bytes;
    else if (path.endsWith(ROCKSDB_LIBRARY)) rocksdbLibraryBytes += bytes;
  }
  return {
    rssBytes: statusField(status, 'VmRSS') ?? 0,
    anonBytes: statusField(status, 'RssAnon') ?? 0,
    fileBytes: statusField(status, 'RssFile') ?? 0,
    nodeExecutableBytes,
    rocksdbLibraryBytes,
  };
}

/**
 * Resident bytes by mapped path, summed over a process's mappings (the text of /proc/<pid>/smaps:
 * a mapping's header line, then its fields, among them `Rss:`). Anonymous mappings have no path
 * and are not listed.
 */
export function residentByPath(smapsText: string): Map<string, number> {
  const byPath = new Map<string, number>();
  let path: string | undefined;
  for (const line of smapsText.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header !== null) {
      const name = header[1]!.trim();
      path = name.startsWith('/') ? name : undefined;
      continue;
    }
    if (path === undefined || !line.startsWith('Rss:')) continue;
    const kib = Number(/^Rss:\s+(\d+) kB/.exec(line)?.[1] ?? 0);
    byPath.set(path, (byPath.get(path) ?? 0) + kib * 1024);
  }
  return byPath;
}

/** The executable's path as its mappings name it (the link resolved), or undefined when it is gone. */
function executablePath(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

function prefixed(prefix: string, residency: Residency): Record<string, number> {
  return {
    [`${prefix}RssBytes`]: residency.rssBytes,
    [`${prefix}AnonBytes`]: residency.anonBytes,
    [`${prefix}FileBytes`]: residency.fileBytes,
    [`${prefix}NodeExecutableBytes`]: residency.nodeExecutableBytes,
    [`${prefix}RocksdbLibraryBytes`]: residency.rocksdbLibraryBytes,
  };
}
