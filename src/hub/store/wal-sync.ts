import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type RocksDB from 'rocksdb-native';

/**
 * fsync of RocksDB's write-ahead log, for power-loss durability. rocksdb-native has no per-write
 * sync option, but every acknowledged write is already in the WAL file in the page cache; an
 * fdatasync of that file (through our own descriptor: fsync is per file, not per descriptor)
 * makes everything written before it durable. Calls that arrive while a sync runs share the next
 * one (group commit), so the cost is one fsync per burst, not per write.
 */
export class WalSync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private file: { number: number; handle: FileHandle } | undefined;

  constructor(
    private readonly db: RocksDB,
    private readonly dir: string,
  ) {}

  sync(): Promise<void> {
    if (this.running === undefined) {
      this.running = this.syncOnce().finally(() => (this.running = undefined));
      return this.running;
    }
    // The running sync may have started before the caller's write: it needs the next one.
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.sync();
    });
    return this.queued;
  }

  async close(): Promise<void> {
    await this.running;
    await this.queued;
    await this.file?.handle.close();
    this.file = undefined;
  }

  private async syncOnce(): Promise<void> {
    const wal = await this.db.currentWalFile();
    if (this.file?.number !== wal.number) {
      const previous = this.file;
      // Writes made before RocksDB switched files may still be only in the old file's cache.
      if (previous !== undefined) {
        await previous.handle.datasync().catch(() => undefined);
        await previous.handle.close().catch(() => undefined);
      }
      this.file = { number: wal.number, handle: await open(join(this.dir, wal.path), 'r') };
      // The new file's directory entry must be durable too.
      const dir = await open(this.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
    await this.file.handle.datasync();
  }
}
