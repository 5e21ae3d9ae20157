import type { StoredTwin, TwinProperties, TwinSection } from './twin-types.js';

/**
 * Where twins are kept. Two backends (RocksDB, memory) run one contract suite
 * (test/twin/twin-store-contract.ts).
 *
 * Per twin it keeps the twin itself and `delivered`: the desired section as the twin's device or
 * module last received it (by GET or notification), so a client that reconnects can be sent what
 * it missed. Both are written together, and `write` resolves only once the write is durable (in
 * RocksDB's write-ahead log, which survives a process crash), which is when a change may be
 * acknowledged.
 */
export interface TwinStore {
  readonly durable: boolean;
  open(): Promise<void>;
  read(twinId: string): Promise<TwinRecord>;
  write(twinId: string, record: TwinRecord): Promise<void>;
  /** Removes a twin and what was delivered of it. */
  remove(twinId: string): Promise<void>;
  /** Ids of every stored twin, sorted. */
  ids(): Promise<string[]>;
  close(): Promise<void>;
}

export interface TwinRecord {
  readonly twin: StoredTwin | undefined;
  readonly delivered: TwinSection | undefined;
  /**
   * Reported patches answered here and not yet taken by the upstream (the relay's outbox, kept
   * only while an upstream is configured), oldest first, each with the reported `$version` it
   * made. Written with the patch itself, so a patch acknowledged to its client survives a restart.
   * Folded as they arrive (`appendFolded`): a twin reported into for a day while the link is down
   * keeps a handful of entries, not one per patch.
   */
  readonly upstreamOutbox?: readonly PendingReported[];
}

export interface PendingReported {
  /** The reported `$version` after the last patch folded into this one. */
  readonly version: number;
  /** The version of the first patch folded into it (absent in records of builds before folding: `version`). */
  readonly from?: number;
  readonly patch: TwinProperties;
}
