import { statfsSync } from 'node:fs';

/**
 * Free space below which a failed RocksDB write is taken for a full disk rather than another I/O
 * error: rocksdb-native reports every failed write as "Batch was not applied", so free space is
 * what tells why. Shared by the message store's shards and the broker's store.
 */
export const DISK_FULL_BELOW_BYTES = 64 * 1024 * 1024;

/** Bytes an unprivileged writer may still use on the file system holding `dir`; undefined when it cannot be read. */
export function freeBytesUnder(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}
