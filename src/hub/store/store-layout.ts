import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '../../errors/index.js';

/** What `<store.dir>/store.json` records: the shard count is fixed when the store is created. */
export interface StoreLayout {
  readonly format: 1;
  readonly shards: number;
  readonly createdAt: string;
}

const LAYOUT_FILE = 'store.json';
/** Version of store.json; each shard's database has its own (store-version.ts). */
export const LAYOUT_FORMAT = 1;

/**
 * Reads the layout of an existing store, or creates it with `shards`. A message's shard is
 * hash(source) mod N; changing N would move sources to other shards and break their order, so an
 * existing store keeps its N whatever the configuration says now (`changed` tells the caller).
 */
export function openLayout(dir: string, shards: number): { layout: StoreLayout; created: boolean; changed: boolean } {
  const existing = readLayout(dir);
  if (existing !== undefined) return { layout: existing, created: false, changed: existing.shards !== shards };
  mkdirSync(dir, { recursive: true });
  const layout: StoreLayout = { format: LAYOUT_FORMAT, shards, createdAt: new Date().toISOString() };
  const file = join(dir, LAYOUT_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(layout, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return { layout, created: true, changed: false };
}

export function readLayout(dir: string): StoreLayout | undefined {
  const file = join(dir, LAYOUT_FILE);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new OutpostError('OUTPOST_STORE_OPEN_FAILED', `${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const format = (parsed as { format?: unknown } | null)?.format ?? LAYOUT_FORMAT;
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) throw new OutpostError('OUTPOST_STORE_OPEN_FAILED', `${file} does not name a valid format`);
  if (format > LAYOUT_FORMAT) {
    throw new OutpostError('OUTPOST_STORE_VERSION_UNSUPPORTED', `${file} has format ${format}, written by a newer Outpost; this one reads up to format ${LAYOUT_FORMAT}. Run the newer Outpost, or restore a backup taken before the upgrade (docs/operations.md)`);
  }
  const shards = (parsed as { shards?: unknown } | null)?.shards;
  if (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1 || shards > 256) {
    throw new OutpostError('OUTPOST_STORE_OPEN_FAILED', `${file} does not name a valid shard count`);
  }
  return parsed as StoreLayout;
}

export function shardDir(dir: string, shard: number): string {
  return join(dir, `shard-${shard}`);
}

/** Whether `dir` holds a RocksDB database: its CURRENT file names the live manifest (absent: never created). */
export function holdsDatabase(dir: string): boolean {
  return existsSync(join(dir, 'CURRENT'));
}

/** Bytes of the files directly in `dir` (a RocksDB directory has no subdirectories). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // A file RocksDB deleted between the listing and the stat.
    }
  }
  return total;
}
