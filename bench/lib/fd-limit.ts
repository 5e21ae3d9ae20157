// Raises a started broker's open-file limit before a large storm. 20,000 clients need more than
// 20,000 descriptors in the broker (one per connection, plus listeners, the store, pipes), and
// this machine's default (soft = hard = 20,000) stops at about 19,970: the kernel would refuse
// accept() with EMFILE and the storm would measure that. `prlimit --pid` (util-linux) changes the
// running process's RLIMIT_NOFILE in place; raising the hard limit needs root (CAP_SYS_RESOURCE),
// so the limit is only ever raised to what the storm needs plus headroom, and when that fails the
// scenario says so in a warning instead of measuring refused connections.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Descriptors kept free beside the connections (listeners, store files, pipes, epoll). */
const HEADROOM = 1024;

/** The soft open-file limit of a process, or undefined when /proc cannot say. */
export function openFileLimit(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined ? undefined : soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
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
  const after = openFileLimit(pid);
  if (after !== undefined && after >= needed) return undefined;
  const why = result.error?.message ?? result.stderr.trim();
  return `the broker's open-file limit is ${after ?? '?'} for ${connections} connections and could not be raised to ${needed} (${why || 'prlimit failed'}): connections beyond it are refused`;
}
