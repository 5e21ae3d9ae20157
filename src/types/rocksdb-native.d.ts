// Minimal typings for rocksdb-native 3.x (the package ships none): only what Outpost uses.
declare module 'rocksdb-native' {
  type Key = Buffer | string;
  type Value = Buffer | string;

  interface WriteBatch {
    put(key: Key, value: Value): Promise<void>;
    delete(key: Key): Promise<void>;
    tryPut(key: Key, value: Value): void;
    tryDelete(key: Key): void;
    tryDeleteRange(start: Key, end: Key): void;
    flush(): Promise<void>;
    destroy(): void;
  }

  interface ReadBatch {
    get(key: Key): Promise<Buffer | null>;
    flush(): Promise<void>;
    tryFlush(): void;
    destroy(): void;
  }

  interface Range {
    gt?: Key;
    gte?: Key;
    lt?: Key;
    lte?: Key;
    reverse?: boolean;
    limit?: number;
    /** Entries fetched per trip to the native thread (default 8). */
    capacity?: number;
  }

  interface Entry {
    key: Buffer;
    value: Buffer;
  }

  interface Options {
    readOnly?: boolean;
    createIfMissing?: boolean;
    maxOpenFiles?: number;
    keyEncoding?: unknown;
    valueEncoding?: unknown;
    /** Memtable size in bytes (column family option, default 64 MiB). */
    writeBufferSize?: number;
    maxWriteBufferNumber?: number;
    /** false: no block cache (RocksDB's default is a 32 MiB LRU cache per database; it cannot be sized here). */
    blockCache?: boolean;
    /** Keep index and filter blocks in the block cache (RocksDB refuses it without a cache). */
    tableCacheIndexAndFilterBlocks?: boolean;
  }

  interface WalFile {
    /** Relative to the database directory, with a leading '/'. */
    path: string;
    number: number;
    type: number;
    startSequence: number;
    size: number;
  }

  class RocksDB {
    constructor(path: string, options?: Options);
    readonly opened: boolean;
    readonly closed: boolean;
    ready(): Promise<void>;
    close(options?: { force?: boolean }): Promise<void>;
    read(options?: unknown): ReadBatch;
    write(options?: unknown): WriteBatch;
    flush(options?: unknown): Promise<void>;
    iterator(range?: Range, options?: unknown): AsyncIterable<Entry> & { destroy(): void };
    get(key: Key): Promise<Buffer | null>;
    put(key: Key, value: Value): Promise<void>;
    delete(key: Key): Promise<void>;
    compactRange(start?: Key | null, end?: Key | null): Promise<void>;
    currentWalFile(): Promise<WalFile>;
    getProperty(name: string): Promise<string>;
  }

  export default RocksDB;
}
