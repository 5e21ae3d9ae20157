/**
 * The local identity registry: every device and module that may connect to this gateway, with
 * its keys or certificate thumbprints, status and parent. It is the only source authentication
 * reads, so the gateway authenticates with no upstream connection at all.
 *
 * Persistence: one JSON file written atomically on every change (see identity-file.ts). Every
 * change first re-reads the file if another process (the `outpost identity` CLI) changed it, so
 * the CLI and a running hub do not undo each other's changes; `watch()` picks up CLI changes in
 * a running hub.
 *
 * Each entry carries a `revision` that changes whenever that identity changes (keys rotated,
 * disabled, removed and re-added). The token cache stores it, so a cached token stops working
 * the moment its identity changes.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { OutpostError } from '../../errors/index.js';
import { identitiesFile, readIdentityFile, sameStamp, stampOf, writeIdentityFile, type FileStamp } from './identity-file.js';
import {
  generateGenerationId,
  generateKey,
  identityKey,
  idProblem,
  recordProblems,
  type IdentityAuthentication,
  type IdentityRecord,
  type IdentitySource,
  type IdentityStatus,
} from './identity-record.js';
import type { DeviceScope } from './may-act-for.js';

/** A record with what authentication needs precomputed. */
export interface RegistryEntry {
  readonly record: IdentityRecord;
  readonly revision: number;
  /** Decoded symmetric keys (SAS identities only), so verifying a token does not decode base64. */
  readonly keys: { readonly primary: Buffer; readonly secondary: Buffer } | undefined;
}

/** What `add` needs; everything but the ids has a default (SAS with generated keys, enabled). */
export interface NewIdentity {
  readonly deviceId: string;
  readonly moduleId?: string;
  readonly status?: IdentityStatus;
  /** SAS keys may be omitted (generated). Default: SAS. */
  readonly authentication?:
    | { readonly type: 'sas'; readonly primaryKey?: string; readonly secondaryKey?: string }
    | Exclude<IdentityAuthentication, { type: 'sas' }>;
  /** Devices: default is this edge device; null for none. */
  readonly parentDeviceId?: string | null;
  readonly edge?: boolean;
  readonly source?: IdentitySource;
}

/** Which keys `rotateKeys` regenerates (`swap` exchanges them), as `az iot hub … renew-key`. */
export type KeyRotation = 'primary' | 'secondary' | 'both' | 'swap';

export interface UpsertResult {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** Records refused on their own, with why; the others were applied. */
  readonly rejected: readonly { readonly key: string; readonly problems: readonly string[] }[];
}

export interface IdentityRegistryOptions {
  readonly dataDir: string;
  /** config.deviceId: the edge device this registry belongs to, the default parent of devices. */
  readonly edgeDeviceId: string;
}

export class IdentityRegistry implements DeviceScope {
  private entries = new Map<string, RegistryEntry>();
  private nextRevision = 1;
  private changeCount = 0;
  private stamp: FileStamp | undefined;

  private constructor(
    readonly file: string,
    readonly edgeDeviceId: string,
  ) {}

  /** Loads `<dataDir>/identities/identities.json` (an absent file is an empty registry). */
  static open(options: IdentityRegistryOptions): IdentityRegistry {
    const registry = new IdentityRegistry(identitiesFile(options.dataDir), options.edgeDeviceId);
    registry.load();
    return registry;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Grows whenever any identity is added, changed or removed (also by a reload of the file): a
   * cache of results derived from several entries is valid while this is unchanged.
   */
  get changes(): number {
    return this.changeCount;
  }

  get(deviceId: string, moduleId?: string): IdentityRecord | undefined {
    return this.entries.get(identityKey(deviceId, moduleId))?.record;
  }

  /** The record with its revision and decoded keys; what the authenticator uses. */
  entry(deviceId: string, moduleId?: string): RegistryEntry | undefined {
    return this.entries.get(identityKey(deviceId, moduleId));
  }

  /** Every identity, devices before their modules, sorted by id. */
  list(): IdentityRecord[] {
    return [...this.entries.keys()].sort().map((key) => this.entries.get(key)!.record);
  }

  parentOf(deviceId: string): string | undefined {
    return this.entries.get(deviceId)?.record.parentDeviceId;
  }

  add(spec: NewIdentity): IdentityRecord {
    this.refresh();
    const key = identityKey(spec.deviceId, spec.moduleId);
    if (this.entries.has(key)) throw new OutpostError('OUTPOST_IDENTITY_EXISTS', `${key} already exists`, { details: { identity: key } });
    const record = this.buildRecord(spec);
    this.checkRelations(record);
    this.set(record);
    this.persist();
    return record;
  }

  /**
   * The identity of a module of this edge device, created with fresh keys when missing (the agent
   * calls this for every module of the deployment). An existing identity is returned unchanged.
   */
  ensureModule(moduleId: string): IdentityRecord {
    this.refresh();
    return this.get(this.edgeDeviceId, moduleId) ?? this.add({ deviceId: this.edgeDeviceId, moduleId, source: 'deployment' });
  }

  setStatus(deviceId: string, moduleId: string | undefined, status: IdentityStatus): IdentityRecord {
    return this.update(deviceId, moduleId, (record) => ({ ...record, status }));
  }

  rotateKeys(deviceId: string, moduleId: string | undefined, which: KeyRotation): IdentityRecord {
    return this.update(deviceId, moduleId, (record) => {
      const auth = record.authentication;
      if (auth.type !== 'sas') {
        throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${identityKey(deviceId, moduleId)} authenticates with ${auth.type}, not SAS keys`);
      }
      const primaryKey = which === 'swap' ? auth.secondaryKey : which === 'secondary' ? auth.primaryKey : generateKey();
      const secondaryKey = which === 'swap' ? auth.primaryKey : which === 'primary' ? auth.secondaryKey : generateKey();
      return { ...record, authentication: { type: 'sas', primaryKey, secondaryKey } };
    });
  }

  /** Removes an identity; removing a device removes its modules too. Returns what was removed. */
  remove(deviceId: string, moduleId?: string): IdentityRecord[] {
    this.refresh();
    const key = identityKey(deviceId, moduleId);
    const removed: IdentityRecord[] = [];
    for (const [candidate, entry] of this.entries) {
      if (candidate === key || (moduleId === undefined && entry.record.deviceId === deviceId)) removed.push(entry.record);
    }
    // A module of this edge device may exist without a device record.
    if (removed.length === 0) throw notFound(key);
    for (const record of removed) this.entries.delete(identityKey(record.deviceId, record.moduleId));
    this.changeCount++;
    this.persist();
    return removed;
  }

  /**
   * Bulk insert or replace, for the upstream device-scope sync and the deployment. Each record is
   * checked on its own; a bad one is reported in `rejected` and the others are applied. With
   * `removeMissing`, identities of the same `source` that are not in `records` are removed (a full
   * sync). One file write for the whole batch.
   */
  upsertMany(records: readonly IdentityRecord[], options: { source: IdentitySource; removeMissing?: boolean }): UpsertResult {
    this.refresh();
    let added = 0;
    let updated = 0;
    let removed = 0;
    const rejected: { key: string; problems: string[] }[] = [];
    const accepted: IdentityRecord[] = [];
    for (const candidate of records) {
      const record: IdentityRecord = { ...candidate, source: options.source };
      const problems = recordProblems(record);
      const key = typeof record.deviceId === 'string' ? identityKey(record.deviceId, record.moduleId) : '?';
      if (problems.length > 0) rejected.push({ key, problems });
      else accepted.push(record);
    }
    // Devices first, so their modules and children find them.
    accepted.sort((a, b) => Number(a.moduleId !== undefined) - Number(b.moduleId !== undefined));
    const seen = new Set<string>();
    for (const record of accepted) {
      const key = identityKey(record.deviceId, record.moduleId);
      try {
        this.checkRelations(record, accepted);
      } catch (error) {
        rejected.push({ key, problems: [(error as Error).message] });
        continue;
      }
      seen.add(key);
      const before = this.entries.get(key);
      if (!this.set(record)) continue;
      if (before === undefined) added++;
      else updated++;
    }
    if (options.removeMissing === true) {
      for (const [key, entry] of [...this.entries]) {
        if (entry.record.source === options.source && !seen.has(key)) {
          this.entries.delete(key);
          this.changeCount++;
          removed++;
        }
      }
    }
    if (added + updated + removed > 0) this.persist();
    return { added, updated, removed, rejected };
  }

  /**
   * Re-reads the file when another process changed it. Identities whose record did not change
   * keep their revision (their cached tokens stay valid). Returns whether anything was re-read.
   * Throws OUTPOST_IDENTITY_STORE_UNREADABLE (and keeps the registry as it was) on a bad file.
   */
  refresh(): boolean {
    if (sameStamp(stampOf(this.file), this.stamp)) return false;
    this.load();
    return true;
  }

  /**
   * Watches the file and calls `refresh` when it changes, so `outpost identity …` takes effect in
   * a running hub. Returns a function that stops watching.
   */
  watch(handlers: { onReload?: () => void; onError?: (error: OutpostError) => void } = {}): () => void {
    const directory = dirname(this.file);
    writeIdentityFileIfMissing(this);
    let watcher: FSWatcher | undefined = fsWatch(directory, { persistent: false }, (_event, name) => {
      // The file is replaced by rename, so watch the directory and filter by name.
      if (name !== null && name !== basename(this.file)) return;
      try {
        if (this.refresh()) handlers.onReload?.();
      } catch (error) {
        if (error instanceof OutpostError) handlers.onError?.(error);
        else throw error;
      }
    });
    return () => {
      watcher?.close();
      watcher = undefined;
    };
  }

  /** @internal Writes the current state (also creates the directory). */
  persist(): void {
    this.stamp = writeIdentityFile(this.file, this.list());
  }

  private load(): void {
    const { records, stamp } = readIdentityFile(this.file);
    const previous = this.entries;
    this.entries = new Map();
    for (const record of records) {
      const key = identityKey(record.deviceId, record.moduleId);
      const old = previous.get(key);
      if (old !== undefined && JSON.stringify(old.record) === JSON.stringify(record)) this.entries.set(key, old);
      else this.set(record);
    }
    this.stamp = stamp;
    this.changeCount++;
  }

  /** Stores a record; returns false when it is identical to the stored one (revision kept). */
  private set(record: IdentityRecord): boolean {
    const key = identityKey(record.deviceId, record.moduleId);
    const old = this.entries.get(key);
    if (old !== undefined && JSON.stringify(old.record) === JSON.stringify(record)) return false;
    const auth = record.authentication;
    const keys = auth.type === 'sas' ? { primary: Buffer.from(auth.primaryKey, 'base64'), secondary: Buffer.from(auth.secondaryKey, 'base64') } : undefined;
    this.entries.set(key, { record, revision: this.nextRevision++, keys });
    this.changeCount++;
    return true;
  }

  private update(deviceId: string, moduleId: string | undefined, change: (record: IdentityRecord) => IdentityRecord): IdentityRecord {
    this.refresh();
    const current = this.get(deviceId, moduleId);
    if (current === undefined) throw notFound(identityKey(deviceId, moduleId));
    const record = change(current);
    this.set(record);
    this.persist();
    return record;
  }

  private buildRecord(spec: NewIdentity): IdentityRecord {
    const isModule = spec.moduleId !== undefined;
    const requested = spec.authentication ?? { type: 'sas' as const };
    const authentication: IdentityAuthentication =
      requested.type === 'sas' ? { type: 'sas', primaryKey: requested.primaryKey ?? generateKey(), secondaryKey: requested.secondaryKey ?? generateKey() } : requested;
    const parent = isModule || spec.deviceId === this.edgeDeviceId ? undefined : spec.parentDeviceId === undefined ? this.edgeDeviceId : spec.parentDeviceId ?? undefined;
    const record: IdentityRecord = {
      deviceId: spec.deviceId,
      ...(isModule ? { moduleId: spec.moduleId } : {}),
      status: spec.status ?? 'enabled',
      authentication,
      ...(parent === undefined ? {} : { parentDeviceId: parent }),
      ...(spec.edge === true && !isModule ? { edge: true } : {}),
      generationId: generateGenerationId(),
      source: spec.source ?? 'local',
    };
    const problems = recordProblems(record);
    if (isModule && spec.parentDeviceId !== undefined && spec.parentDeviceId !== null) problems.push('a module has no parent other than its device');
    if (problems.length > 0) {
      throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${identityKey(spec.deviceId, spec.moduleId)}: ${problems.join('; ')}`, { details: { problems } });
    }
    return record;
  }

  /** A module needs its device (except on this edge device); a parent must be an edge device. */
  private checkRelations(record: IdentityRecord, batch: readonly IdentityRecord[] = []): void {
    const key = identityKey(record.deviceId, record.moduleId);
    const device = (id: string) => this.get(id) ?? batch.find((other) => other.deviceId === id && other.moduleId === undefined);
    if (record.moduleId !== undefined) {
      if (record.deviceId !== this.edgeDeviceId && device(record.deviceId) === undefined) {
        throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${key}: device ${record.deviceId} does not exist; add it first`);
      }
      return;
    }
    const parent = record.parentDeviceId;
    if (parent === undefined || parent === this.edgeDeviceId) return;
    const problem = idProblem('device', parent);
    if (problem !== undefined) throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${key}: parent ${problem}`);
    if (device(parent)?.edge !== true) {
      throw new OutpostError('OUTPOST_IDENTITY_INVALID', `${key}: parent ${parent} must be this edge device (${this.edgeDeviceId}) or an edge device in the registry (added with --edge)`);
    }
  }
}

function notFound(key: string): OutpostError {
  return new OutpostError('OUTPOST_IDENTITY_NOT_FOUND', `${key} is not in the identity registry`, { details: { identity: key } });
}

/** fs.watch needs the directory to exist; an empty registry writes its (empty) file once. */
function writeIdentityFileIfMissing(registry: IdentityRegistry): void {
  if (stampOf(registry.file) === undefined) registry.persist();
}
