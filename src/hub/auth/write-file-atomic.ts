/**
 * Whole-file replacement for the identity registry: temp file beside the target, fsync, rename,
 * fsync the directory. A crash leaves the old file or the new one, never a torn file that would
 * lose every key. (The same technique as src/tls; kept here so auth does not reach into tls.)
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomic(file: string, data: string, mode: number): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // 'wx' never follows an existing path; the mode applies from creation, so keys are never
  // readable by others, even for an instant.
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
  try {
    const dirFd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is already durable.
  }
}
