import { readFileSync } from 'node:fs';

/**
 * Start time of a live process (field 22 of /proc/<pid>/stat, clock ticks since boot), or
 * undefined when it is gone or a zombie. Comparing it with the recorded value tells our module
 * from an unrelated process that reused the pid after a reboot or a long downtime.
 */
export function processStartTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

export function isSameProcessAlive(pid: number, startTicks: string | undefined): boolean {
  const now = processStartTicks(pid);
  if (now === undefined) return false;
  return startTicks === undefined || now === startTicks;
}

/** The children of `pid` (/proc/<pid>/task/<pid>/children); empty when the kernel does not say. */
export function childrenOf(pid: number): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const field of text.split(' ')) {
    const child = Number(field);
    if (Number.isInteger(child) && child > 0) children.push(child);
  }
  return children;
}

/**
 * The command line of a live process (/proc/<pid>/cmdline, its arguments joined by NUL), or
 * undefined when it is gone. It changes when the process execs another program.
 */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return undefined;
  }
}
