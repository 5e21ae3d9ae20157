/**
 * Many byte strings in one ArrayBuffer, so a batch crosses to a worker thread (or back) as a
 * single transferred buffer: [bytes…][u32 end offset × count][u32 count], little-endian. The
 * table goes last so a batch can be written front to back as its messages arrive (FrameBuilder),
 * without knowing how many there will be.
 */
export function packFrames(parts: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  let bytes = totalBytes ?? 0;
  if (totalBytes === undefined) for (const part of parts) bytes += part.byteLength;
  const builder = new FrameBuilder(bytes + 4 * parts.length + 4);
  for (const part of parts) {
    const at = builder.reserve(part.byteLength);
    builder.buffer.set(part, at);
    builder.commit(at + part.byteLength);
  }
  return builder.finish();
}

/** Views into `data`, one per packed part (no copies). */
export function unpackFrames(data: Uint8Array): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 4) throw new RangeError('frames truncated');
  const count = view.getUint32(data.byteLength - 4, true);
  const tableAt = data.byteLength - 4 - 4 * count;
  if (tableAt < 0) throw new RangeError('frames truncated');
  const parts: Uint8Array[] = new Array<Uint8Array>(count);
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = view.getUint32(tableAt + 4 * i, true);
    if (end < start || end > tableAt) throw new RangeError('frames corrupt');
    parts[i] = data.subarray(start, end);
    start = end;
  }
  return parts;
}

/**
 * Writes parts straight into one growing buffer (no copy per part): `reserve(bound)` makes room
 * for at most `bound` bytes and returns where to write in `buffer`; `commit(end)` records where
 * the part ended. `finish()` appends the table and returns the packed frames.
 */
export class FrameBuilder {
  buffer: Buffer;
  private used = 0;
  private readonly ends: number[] = [];

  constructor(initialBytes = 16 * 1024) {
    this.buffer = Buffer.allocUnsafeSlow(Math.max(64, initialBytes));
  }

  get count(): number {
    return this.ends.length;
  }

  /** Bytes of the parts so far. */
  get bytes(): number {
    return this.used;
  }

  reserve(bound: number): number {
    this.ensure(this.used + bound);
    return this.used;
  }

  commit(end: number): void {
    this.used = end;
    this.ends.push(end);
  }

  finish(): Uint8Array {
    const count = this.ends.length;
    this.ensure(this.used + 4 * count + 4);
    let at = this.used;
    for (let i = 0; i < count; i++, at += 4) this.buffer.writeUInt32LE(this.ends[i]!, at);
    this.buffer.writeUInt32LE(count, at);
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, at + 4);
  }

  private ensure(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(bytes, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }
}
