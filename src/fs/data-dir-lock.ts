import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../errors/index.js';

/** What the lock file records about its holder: enough for the error a second process prints. */
export interface LockHolder {
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
}

/** errno of kill(pid, 0) for a process that exists but belongs to another user. */
const ERRNO_PERMISSION = 'EPERM';

/**
 * One running hub per data directory. RocksDB refuses a second opener with a bare
 * `LOCK: Resource temporarily unavailable`, after part of the hub has started; this lock is taken
 * first and names the process that holds the directory.
 *
 * The file `<dataDir>/hub.lock` holds the holder's pid. It is created with link(2), which fails
 * when the file exists, so two hubs starting at once cannot both win. A lock whose process is gone
 * (a crash, SIGKILL) is stale and taken over.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string, command: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'hub.lock');
    const own: LockHolder = { pid: process.pid, command, startedAt: new Date().toISOString() };
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(own)}\n`);
    try {
      // Two tries: the second after removing a stale lock.
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          linkSync(temp, file);
          return new DataDirLock(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = readHolder(file);
        if (holder !== undefined && isAlive(holder.pid)) {
          throw new OutpostError(
            'OUTPOST_DATA_DIR_IN_USE',
            `the data directory ${dataDir} is in use by process ${holder.pid} (outpost ${holder.command}, started ${holder.startedAt}); stop that process or choose another --data-dir`,
            { details: { dataDir, pid: holder.pid, command: holder.command, startedAt: holder.startedAt, lockFile: file } },
          );
        }
        rmSync(file, { force: true });
      }
      throw new OutpostError('OUTPOST_DATA_DIR_IN_USE', `the data directory ${dataDir} was locked by another process while this one started`, { details: { dataDir, lockFile: file } });
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /** The live process holding `dataDir`, or undefined (no lock, or a stale one): for `outpost check`. */
  static holder(dataDir: string): LockHolder | undefined {
    const holder = readHolder(join(dataDir, 'hub.lock'));
    return holder !== undefined && isAlive(holder.pid) ? holder : undefined;
  }

  /** Removes the lock file if it is still this process's. */
  release(): void {
    if (readHolder(this.file)?.pid === process.pid) rmSync(this.file, { force: true });
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof data.pid === 'number' ? { pid: data.pid, command: String(data.command ?? 'unknown'), startedAt: String(data.startedAt ?? 'unknown') } : undefined;
  } catch {
    // Unreadable or torn: no holder can be named, so it is treated as stale.
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === ERRNO_PERMISSION;
  }
}
