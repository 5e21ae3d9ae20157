// Raises a started broker's open-file limit before a large storm. A storm of N clients needs N
// descriptors in the broker plus its own (listeners, the store's files, pipes, epoll). `prlimit
// --pid` (util-linux) changes the running process's RLIMIT_NOFILE in place; raising the hard limit
// needs CAP_SYS_RESOURCE, which this machine's container does not grant even to root (hard limit
// 20,000), so the soft limit goes as high as the storm needs or, failing that, to the hard limit,
// and the scenario warns when that is still short: connections beyond it would be refused
// (EMFILE) and the storm would measure that. On this machine that caps a storm at about 19,500
// clients, which is why the "20,000-client" figures in docs/benchmarks.md are of 19,500.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Descriptors asked for beside the connections (listeners, store files, pipes, epoll). */
const HEADROOM = 1024;
/** What the broker is known to need beside them (an idle hub holds about 100; Mosquitto about 10). */
const MIN_HEADROOM = 256;

/** The soft open-file limit of a process, or undefined when /proc cannot say. */
export function openFileLimit(pid: number): number | undefined {
  return limitField(pid, 1);
}

function hardOpenFileLimit(pid: number): number | undefined {
  return limitField(pid, 2);
}

/** Field 1 (soft) or 2 (hard) of the "Max open files" line of /proc/<pid>/limits. */
function limitField(pid: number, field: 1 | 2): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const value = line?.split(/\s{2,}/)[field];
    return value === undefined ? undefined : value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value);
  } catch {
    return undefined;
  }
}

/**
 * Makes sure `pid` may hold `connections` sockets; returns a warning when it cannot (no pid: an
 * outside broker, nothing to do; the caller adds the warning to the result).
 */
export function ensureOpenFiles(pid: number | undefined, connections: number): string | undefined {
  if (pid === undefined) return undefined;
  const needed = connections + HEADROOM;
  const current = openFileLimit(pid);
  if (current !== undefined && current >= needed) return undefined;
  const result = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${needed}:${needed}`], { encoding: 'utf8' });
  let after = openFileLimit(pid);
  if (after !== undefined && after >= needed) return undefined;
  const hard = hardOpenFileLimit(pid);
  if (hard !== undefined && (after === undefined || hard > after)) {
    spawnSync('prlimit', ['--pid', String(pid), `--nofile=${hard}:${hard}`], { encoding: 'utf8' });
    after = openFileLimit(pid);
  }
  if (after !== undefined && after >= connections + MIN_HEADROOM) return undefined;
  const why = result.error?.message ?? result.stderr.trim();
  return `the broker's open-file limit is ${after ?? '?'} for ${connections} connections and could not be raised to ${needed} (${why || 'prlimit failed'}): connections beyond it are refused`;
}
