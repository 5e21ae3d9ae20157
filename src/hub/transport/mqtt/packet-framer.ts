/**
 * Splits an MQTT byte stream into whole packets before any parsing, so an oversized packet is
 * refused from its fixed header (MQTT 5 section 3.1.2.11: Maximum Packet Size) instead of being
 * buffered first, and a malformed remaining length (more than 4 bytes, MQTT-1.5.5) is caught at
 * once. Returns results, never throws: this runs for every packet.
 */

export type FrameResult =
  | { kind: 'packet'; packet: Buffer }
  | { kind: 'need-more' }
  | { kind: 'too-large'; bytes: number }
  | { kind: 'malformed'; reason: string };

const NEED_MORE: FrameResult = { kind: 'need-more' };

export class PacketFramer {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxPacketBytes: number) {}

  push(chunk: Buffer): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Takes the next whole packet off the buffer, if there is one. */
  next(): FrameResult {
    if (this.bufferedBytes < 2) return NEED_MORE;
    const head = this.buffered.length === 1 ? this.buffered[0]! : this.coalesce();
    // Remaining length: variable byte integer, 1 to 4 bytes (MQTT 5 section 1.5.5).
    let remaining = 0;
    let multiplier = 1;
    let offset = 1;
    for (;;) {
      if (offset >= head.length) return NEED_MORE;
      const byte = head[offset]!;
      remaining += (byte & 0x7f) * multiplier;
      offset += 1;
      if ((byte & 0x80) === 0) break;
      if (offset > 4) return { kind: 'malformed', reason: 'remaining length longer than 4 bytes' };
      multiplier *= 128;
    }
    const total = offset + remaining;
    if (total > this.maxPacketBytes) return { kind: 'too-large', bytes: total };
    // With several chunks buffered, head is already their concatenation.
    if (head.length < total) return NEED_MORE;
    const packet = head.subarray(0, total);
    const rest = head.subarray(total);
    this.buffered = rest.length === 0 ? [] : [rest];
    this.bufferedBytes = rest.length;
    return { kind: 'packet', packet };
  }

  private coalesce(): Buffer {
    const joined = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [joined];
    return joined;
  }
}
