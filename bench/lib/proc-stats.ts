// Resource figures of a process from /proc, read the same way for every broker and every load
// generator process so that their CPU seconds are comparable. Threads (Piscina workers, libuv's
// pool) belong to the same pid and are included.
//
// CPU time comes from /proc/<pid>/task/*/schedstat (nanoseconds on CPU, per thread) where the
// kernel has it: /proc/<pid>/stat counts in ticks of 10 ms, too coarse for a connection storm that
// Mosquitto finishes in 150 ms. The catch: a thread that exited inside the window takes its time
// with it, which is fine for brokers and generators whose threads live as long as they do.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface ProcSample {
  /** Resident set size now (VmRSS). */
  readonly rssBytes: number;
  /** Peak resident set size over the process's life (VmHWM). */
  readonly peakRssBytes: number;
  /** User + system CPU seconds so far (utime + stime). */
  readonly cpuSec: number;
}

let ticksPerSec: number | undefined;

/** Clock ticks per second used by /proc/<pid>/stat (USER_HZ, 100 on Linux x86 and arm64). */
export function clockTicksPerSec(): number {
  if (ticksPerSec === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const parsed = Number.parseInt(out.stdout ?? '', 10);
    ticksPerSec = Number.isFinite(parsed) && parsed > 0 ? parsed : 100;
  }
  return ticksPerSec;
}

/** kB field of /proc/<pid>/status, in bytes. */
export function statusField(statusText: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(statusText);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/**
 * utime + stime from the text of /proc/<pid>/stat, in ticks. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from the last ')'.
 */
export function statCpuTicks(statText: string): number {
  const fields = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  return Number(fields[11]) + Number(fields[12]);
}

const HAS_SCHEDSTAT = existsSync('/proc/self/schedstat');

/** On-CPU seconds summed over the process's live threads, or undefined without schedstat. */
export function schedstatCpuSec(pid: number): number | undefined {
  if (!HAS_SCHEDSTAT) return undefined;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return ns / 1e9;
}

/** Reads a sample, or undefined when the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return {
      rssBytes: statusField(status, 'VmRSS') ?? 0,
      peakRssBytes: statusField(status, 'VmHWM') ?? 0,
      cpuSec: schedstatCpuSec(pid) ?? statCpuTicks(stat) / clockTicksPerSec(),
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds of several processes summed; processes that are gone count as 0. */
export function sumCpuSec(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += sampleProc(pid)?.cpuSec ?? 0;
  return total;
}

/** Per-process CPU seconds, keyed by pid (missing processes omitted). */
export function cpuByPid(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = sampleProc(pid);
    if (s !== undefined) out.set(pid, s.cpuSec);
  }
  return out;
}

/**
 * System-wide TCP counters from /proc/net/netstat (TcpExt): listen-queue drops on the server side
 * and SYN retransmissions on the client side. Either rising during a connection storm means
 * connections waited for a retransmission timer (1 s), so connections/s measures the timer, not
 * the broker. Undefined where the file is unreadable.
 */
export function tcpCounters(): { listenDrops: number; synRetrans: number } | undefined {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const headerAt = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[headerAt]?.split(' ') ?? [];
    const values = lines[headerAt + 1]?.split(' ') ?? [];
    const get = (name: string): number => Number(values[names.indexOf(name)] ?? 0);
    return { listenDrops: get('ListenDrops'), synRetrans: get('TCPSynRetrans') };
  } catch {
    return undefined;
  }
}
