/**
 * The header in front of every stored message (the value of a queue entry):
 * [u8 format][f64 expiresAtMs][f64 enqueuedAtMs][f64 cumulativeBytes], then the packed message.
 *
 * `cumulativeBytes` is the running total of key and value bytes written to the entry's queue up
 * to and including this entry. Queues are only ever trimmed from the head, so the bytes a trim
 * frees are a difference of two totals: the store keeps exact live byte counts without reading
 * what it deletes and without a counter that could drift across crashes.
 */

export const ENTRY_FORMAT = 1;
export const ENTRY_HEADER_BYTES = 25;

export interface EntryHeader {
  readonly expiresAtMs: number;
  readonly enqueuedAtMs: number;
  readonly cumulativeBytes: number;
}

export function writeEntry(message: Uint8Array, expiresAtMs: number, enqueuedAtMs: number, cumulativeBytes: number): Buffer {
  const value = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + message.byteLength);
  value[0] = ENTRY_FORMAT;
  value.writeDoubleLE(expiresAtMs, 1);
  value.writeDoubleLE(enqueuedAtMs, 9);
  value.writeDoubleLE(cumulativeBytes, 17);
  value.set(message, ENTRY_HEADER_BYTES);
  return value;
}

export function readEntryHeader(value: Uint8Array): EntryHeader {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { expiresAtMs: view.getFloat64(1, true), enqueuedAtMs: view.getFloat64(9, true), cumulativeBytes: view.getFloat64(17, true) };
}

/** The packed message behind the header (a view). */
export function entryMessage(value: Uint8Array): Uint8Array {
  return value.subarray(ENTRY_HEADER_BYTES);
}
