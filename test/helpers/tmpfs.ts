import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './outpost-process.js';

export interface Tmpfs {
  readonly path: string;
  /** Unmounts and removes the mount point (idempotent). */
  remove(): void;
}

/**
 * A small tmpfs of `bytes`, for real full-disk tests. The suite runs as root (CI and
 * scripts/install-test-deps.sh), so a mount that fails is a test failure, never a skip.
 */
export function mountTmpfs(bytes: number, prefix = 'outpost-tmpfs-'): Tmpfs {
  const root = tempDir(prefix);
  const path = join(root.path, 'mnt');
  mkdirSync(path);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    root.remove();
    throw new Error(`cannot mount a ${bytes}-byte tmpfs for a full-disk test (the suite runs as root): ${String(error)}`);
  }
  let mounted = true;
  return {
    path,
    remove() {
      if (mounted) {
        mounted = false;
        execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      }
      rmSync(root.path, { recursive: true, force: true });
    },
  };
}
