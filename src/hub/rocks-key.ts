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
