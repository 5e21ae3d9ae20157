import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import RocksDB from 'rocksdb-native';
import { OutpostError } from '../../errors/index.js';
import { BROKER_FORMAT_VERSION } from '../broker/rocks-broker-store.js';
import { SHARD_FORMAT_VERSION } from './rocks-shard-log.js';
import { holdsDatabase, LAYOUT_FORMAT, readLayout, shardDir } from './store-layout.js';

/**
 * Backup and restore of a data directory by stop-copy (docs/operations.md, "Backup and restore").
 * rocksdb-native exposes no checkpoint or backup engine, and a copy of a RocksDB directory taken
 * while it is being written is not consistent, so a backup requires a stopped Outpost: each
 * database is opened read-write first, which fails on RocksDB's lock when a hub holds it.
 *
 * A backup is a folder: `backup.json` (what was copied, the format versions of this Outpost),
 * `data/` (the data directory, without sockets) and, when store.dir is outside the data
 * directory, `store/`.
 */

const MANIFEST_FILE = 'backup.json';

export interface BackupManifest {
  readonly kind: 'outpost-data-dir-backup';
  readonly outpostVersion: string;
  readonly createdAt: string;
  readonly dataDir: string;
  /** store.dir relative to the data directory, or null when it was elsewhere (copied to store/). */
  readonly storeInDataDir: string | null;
  readonly formats: { readonly layout: number; readonly shard: number; readonly broker: number };
}

export interface BackupPaths {
  readonly dataDir: string;
  readonly storeDir: string;
}

export async function backupDataDir(paths: BackupPaths, target: string, outpostVersion: string): Promise<BackupManifest> {
  if (!existsSync(paths.dataDir)) fail(`no data directory at ${paths.dataDir}`);
  requireEmpty(target, 'the backup folder');
  await requireStopped(paths);
  const inside = storeInside(paths);
  mkdirSync(target, { recursive: true });
  copyTree(paths.dataDir, join(target, 'data'));
  if (inside === null && existsSync(paths.storeDir)) copyTree(paths.storeDir, join(target, 'store'));
  const manifest: BackupManifest = {
    kind: 'outpost-data-dir-backup',
    outpostVersion,
    createdAt: new Date().toISOString(),
    dataDir: paths.dataDir,
    storeInDataDir: inside,
    formats: { layout: LAYOUT_FORMAT, shard: SHARD_FORMAT_VERSION, broker: BROKER_FORMAT_VERSION },
  };
  // Written last: a folder without backup.json is an interrupted backup, and restore refuses it.
  writeFileSync(join(target, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function restoreDataDir(source: string, paths: BackupPaths): Promise<BackupManifest> {
  const manifestFile = join(source, MANIFEST_FILE);
  if (!existsSync(manifestFile)) fail(`${source} holds no ${MANIFEST_FILE}: not a complete Outpost backup`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
  if (manifest.kind !== 'outpost-data-dir-backup') fail(`${manifestFile} is not an Outpost backup manifest`);
  const newer = (['shard', 'broker'] as const).filter((name) => manifest.formats[name] > (name === 'shard' ? SHARD_FORMAT_VERSION : BROKER_FORMAT_VERSION));
  if (newer.length > 0) {
    throw new OutpostError('OUTPOST_STORE_VERSION_UNSUPPORTED', `the backup in ${source} was taken by Outpost ${manifest.outpostVersion}, whose ${newer.join(' and ')} format is newer than this Outpost reads`);
  }
  requireEmpty(paths.dataDir, 'the data directory');
  const externalStore = manifest.storeInDataDir === null && existsSync(join(source, 'store'));
  if (externalStore) requireEmpty(paths.storeDir, 'store.dir');
  copyTree(join(source, 'data'), paths.dataDir);
  if (externalStore) copyTree(join(source, 'store'), paths.storeDir);
  return manifest;
}

/** Opens every RocksDB of the data directory read-write for a moment: RocksDB's lock refuses it while a hub runs. */
async function requireStopped(paths: BackupPaths): Promise<void> {
  const databases = [join(paths.dataDir, 'broker')];
  const layout = existsSync(paths.storeDir) ? readLayout(paths.storeDir) : undefined;
  for (let shard = 0; shard < (layout?.shards ?? 0); shard++) databases.push(shardDir(paths.storeDir, shard));
  for (const dir of databases) {
    if (!holdsDatabase(dir)) continue;
    const db = new RocksDB(dir, { createIfMissing: false });
    try {
      await db.ready();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/lock/i.test(message)) fail(`${dir} is in use by a running Outpost: stop it first (a backup is a copy of a stopped data directory)`);
      fail(`${dir} cannot be opened: ${message}`);
    } finally {
      await db.close().catch(() => undefined);
    }
  }
}

function storeInside(paths: BackupPaths): string | null {
  const path = relative(paths.dataDir, paths.storeDir);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path) ? path : null;
}

function requireEmpty(dir: string, what: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) fail(`${what} ${dir} is not empty`);
}

/** Copies a tree as it is (modes kept), leaving out sockets (the workload and agent control sockets). */
function copyTree(from: string, to: string): void {
  cpSync(from, to, { recursive: true, preserveTimestamps: true, filter: (path) => !lstatSync(path).isSocket() });
}

function fail(message: string): never {
  throw new OutpostError('OUTPOST_STORE_BACKUP_FAILED', message);
}
