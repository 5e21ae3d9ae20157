import { Packr } from 'msgpackr';
import type { HubMessage } from '../message/index.js';

/**
 * HubMessage ⇄ bytes, for the trip to a shard worker and for the value stored in RocksDB. The
 * same bytes serve both: the main thread packs a message once, the shard worker stores that slice
 * as it came (behind an entry header) and a read-back unpacks it.
 *
 * Property maps travel as flat [key, value, …] arrays and are rebuilt as own data properties: a
 * map in msgpackr would rename a "__proto__" key, and plain assignment would set a prototype
 * (hub-message.ts invariant: client-chosen names are only ever data).
 */

type Flat = (string | null)[];
type Packed = [source: string, body: Uint8Array, properties: Flat, systemProperties: Flat, enqueuedAtMs: number];

// One per thread; `useRecords: false` keeps every buffer self-describing (no shared structures
// between the main thread, the workers and what is already on disk).
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeMessage(message: HubMessage): Buffer {
  const packed: Packed = [message.source, message.body, flatten(message.properties), flatten(message.systemProperties), message.enqueuedAtMs];
  return packr.pack(packed);
}

export function decodeMessage(bytes: Uint8Array): HubMessage {
  const [source, body, properties, systemProperties, enqueuedAtMs] = packr.unpack(bytes) as Packed;
  return {
    source,
    body,
    properties: rebuild(properties),
    systemProperties: rebuild(systemProperties) as Record<string, string>,
    enqueuedAtMs,
  };
}

function flatten(map: Readonly<Record<string, string | null>>): Flat {
  const flat: Flat = [];
  for (const key of Object.keys(map)) flat.push(key, map[key] ?? null);
  return flat;
}

function rebuild(flat: Flat): Record<string, string | null> {
  const map: Record<string, string | null> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = String(flat[i]);
    const value = flat[i + 1] ?? null;
    if (key === '__proto__') Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
    else map[key] = value;
  }
  return map;
}
