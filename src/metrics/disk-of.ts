import { readFileSync, statfsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface DiskFigures {
  readonly mountPoint: string;
  /** The mounted device (`/dev/sda1`, `tmpfs`, `overlay`). */
  readonly device: string;
  /** The file system type (`ext4`, `tmpfs`, …). */
  readonly type: string;
  readonly availableBytes: number;
  readonly totalBytes: number;
}

/**
 * The disk a directory lives on: statfs for the sizes, /proc/self/mounts (the longest mount point
 * that contains the directory) for its names. Undefined when the directory cannot be looked at.
 */
export function diskOf(dir: string): DiskFigures | undefined {
  let stats;
  try {
    stats = statfsSync(dir);
  } catch {
    return undefined;
  }
  const path = resolve(dir);
  let best = { mountPoint: '/', device: '', type: '' };
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [device, rawMount, type] = line.split(' ');
      if (device === undefined || rawMount === undefined || type === undefined) continue;
      // Spaces and other bytes in mount points are octal escapes (\040).
      const mountPoint = rawMount.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
      const contains = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
      if (contains && mountPoint.length >= best.mountPoint.length) best = { mountPoint, device, type };
    }
  } catch {
    // Not Linux: sizes without names.
  }
  return { ...best, availableBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
}
