/**
 * Whole-file replacement: write a temporary file beside the target, flush it, rename it over the
 * target. A crash leaves either the old file or the new one, never a torn key or certificate.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes `data` to `file` atomically, creating it with `mode` (e.g. 0o600 for private keys). */
export function writeFileAtomic(file: string, data: string, mode: number): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // 'wx': never follow or reuse an existing path; the mode applies from creation, so a key is
  // never readable by others, even for an instant.
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(dirname(file));
}

function syncDirectory(directory: string): void {
  // The rename is only durable once the directory entry is flushed. Some platforms and file
  // systems refuse fsync on a directory; the file itself is already safe then, so carry on.
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort, see above.
  }
}
