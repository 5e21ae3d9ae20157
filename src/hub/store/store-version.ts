import type RocksDB from 'rocksdb-native';
import { OutpostError } from '../../errors/index.js';

/**
 * The format version record of a RocksDB store (a message-store shard, the broker's state):
 * key 'v' alone (no queue, state, session or retained key is one byte long) → u32 big-endian.
 *
 * At open: no record means version 1 (stores written before the record existed); an older version
 * is migrated in place, step by step, and the record rewritten; a newer one — written by a later
 * Outpost — is refused with OUTPOST_STORE_VERSION_UNSUPPORTED rather than misread. The upgrade path
 * is in docs/operations.md ("Store format versions").
 */

const VERSION_KEY = Buffer.from([0x76]); // 'v'
/** A store written before version records existed. */
export const UNVERSIONED_FORMAT = 1;

/** One format change: rewrites a store of version `from` into version `from + 1`. */
export type Migration = (db: RocksDB) => Promise<void>;

export interface StoreFormat {
  /** What the store is, for messages: "message store shard 3", "broker state". */
  readonly what: string;
  readonly dir: string;
  /** The version this code writes. */
  readonly current: number;
  /** migrations[n] upgrades version n to n + 1. */
  readonly migrations?: Readonly<Record<number, Migration>>;
  /** Read-only opens check the version but never migrate or write. */
  readonly readOnly?: boolean;
}

/** Checks (and if needed migrates and records) the format of an opened database; returns the version found. */
export async function checkStoreFormat(db: RocksDB, format: StoreFormat): Promise<number> {
  const raw = await db.get(VERSION_KEY);
  const found = raw === null || raw === undefined ? UNVERSIONED_FORMAT : decodeVersion(raw, format);
  if (found > format.current) {
    throw new OutpostError(
      'OUTPOST_STORE_VERSION_UNSUPPORTED',
      `${format.what} at ${format.dir} has format version ${found}, written by a newer Outpost; this one reads up to version ${format.current}. Run the newer Outpost, or restore a backup taken before the upgrade (docs/operations.md)`,
      { details: { dir: format.dir, version: found, supported: format.current } },
    );
  }
  if (format.readOnly === true) return found;
  for (let version = found; version < format.current; version++) {
    const migrate = format.migrations?.[version];
    if (migrate === undefined) {
      throw new OutpostError('OUTPOST_STORE_VERSION_UNSUPPORTED', `${format.what} at ${format.dir} has format version ${version} and no migration to ${version + 1} exists`, {
        details: { dir: format.dir, version, supported: format.current },
      });
    }
    await migrate(db);
    await db.put(VERSION_KEY, encodeVersion(version + 1));
  }
  if (raw === null || raw === undefined) await db.put(VERSION_KEY, encodeVersion(format.current));
  return found;
}

export function encodeVersion(version: number): Buffer {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(version);
  return value;
}

/** For tests and tools: the raw key of the version record. */
export const STORE_VERSION_KEY: Buffer = VERSION_KEY;

function decodeVersion(raw: Buffer, format: StoreFormat): number {
  if (raw.length !== 4) {
    throw new OutpostError('OUTPOST_STORE_OPEN_FAILED', `${format.what} at ${format.dir}: the format version record is ${raw.length} bytes, not 4 (damaged?)`);
  }
  return raw.readUInt32BE(0);
}
