/**
 * Many byte strings in one ArrayBuffer, so a batch crosses to a worker thread (or back) as a
 * single transferred buffer: [u32 count][u32 end offset × count][bytes…], little-endian.
 */
export function packFrames(parts: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  const count = parts.length;
  let bytes = totalBytes ?? 0;
  if (totalBytes === undefined) for (const part of parts) bytes += part.byteLength;
  const headerBytes = 4 + 4 * count;
  const out = new Uint8Array(new ArrayBuffer(headerBytes + bytes));
  const view = new DataView(out.buffer);
  view.setUint32(0, count, true);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const part = parts[i]!;
    out.set(part, headerBytes + offset);
    offset += part.byteLength;
    view.setUint32(4 + 4 * i, offset, true);
  }
  return out;
}

/** Views into `data`, one per packed part (no copies). */
export function unpackFrames(data: Uint8Array): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(0, true);
  const headerBytes = 4 + 4 * count;
  const parts: Uint8Array[] = new Array<Uint8Array>(count);
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = view.getUint32(4 + 4 * i, true);
    parts[i] = data.subarray(headerBytes + start, headerBytes + end);
    start = end;
  }
  return parts;
}
