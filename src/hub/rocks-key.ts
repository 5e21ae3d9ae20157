/**
 * A RocksDB key of the form tag byte + u16 length + UTF-8 id, shared by the message store's shards
 * and the broker's session store: the length prefix keeps one id from being a prefix of another's
 * key range.
 */
export function idKey(tag: number, id: string): Buffer {
  const bytes = Buffer.from(id, 'utf8');
  const key = Buffer.allocUnsafe(3 + bytes.length);
  key[0] = tag;
  key.writeUInt16BE(bytes.length, 1);
  bytes.copy(key, 3);
  return key;
}

/**
 * Entries an iterator fetches per trip to rocksdb-native's thread (its default is 8): each trip is
 * a hop through the libuv pool and back through the event loop. A store page of 2,048 entries took
 * 40-55 ms in 256 trips during an upstream drain and 22-28 ms with this; loading 100,000 queued
 * broker messages at start-up (RocksBrokerStore.load) took 1.27-1.48 s with 8 and 0.60-0.67 s with
 * this (docs/benchmarks.md, "Upstream").
 */
export const SCAN_CAPACITY = 1024;
