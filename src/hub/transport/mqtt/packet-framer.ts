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
const EMPTY = Buffer.alloc(0);

export class PacketFramer {
  /**
   * What has been received and not yet framed: `head` from `start` on, then `more` (made only when
   * a packet spans reads). A packet is a view of `head`, and taking it moves `start`: no view of
   * the rest and no new array per packet, and an idle connection keeps no array (issue 20).
   */
  private head: Buffer = EMPTY;
  private start = 0;
  private more: Buffer[] | undefined;
  private bufferedBytes = 0;
  /** The size of the packet being received, once its header is read: until then no coalescing (a large packet is joined once, not once per read). */
  private needed = 0;

  constructor(private readonly maxPacketBytes: number) {}

  push(chunk: Buffer): void {
    if (this.bufferedBytes === 0) {
      this.head = chunk;
      this.start = 0;
    } else {
      (this.more ??= []).push(chunk);
    }
    this.bufferedBytes += chunk.length;
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Takes the next whole packet off the buffer, if there is one. */
  next(): FrameResult {
    if (this.bufferedBytes < 2 || this.bufferedBytes < this.needed) return NEED_MORE;
    if (this.more !== undefined) this.coalesce();
    const head = this.head;
    const start = this.start;
    // Remaining length: variable byte integer, 1 to 4 bytes (MQTT 5 section 1.5.5).
    let remaining = 0;
    let multiplier = 1;
    let offset = start + 1;
    for (;;) {
      if (offset >= head.length) return NEED_MORE;
      const byte = head[offset]!;
      remaining += (byte & 0x7f) * multiplier;
      offset += 1;
      if ((byte & 0x80) === 0) break;
      if (offset - start > 4) return { kind: 'malformed', reason: 'remaining length longer than 4 bytes' };
      multiplier *= 128;
    }
    const total = offset - start + remaining;
    if (total > this.maxPacketBytes) return { kind: 'too-large', bytes: total };
    // Everything buffered is in head (coalesced above).
    if (this.bufferedBytes < total) {
      this.needed = total;
      return NEED_MORE;
    }
    this.needed = 0;
    const packet = head.subarray(start, start + total);
    this.bufferedBytes -= total;
    if (this.bufferedBytes === 0) {
      this.head = EMPTY;
      this.start = 0;
    } else {
      this.start = start + total;
    }
    return { kind: 'packet', packet };
  }

  /** A packet spans reads: what is buffered becomes one buffer. */
  private coalesce(): void {
    const parts = [this.head.subarray(this.start), ...this.more!];
    this.head = Buffer.concat(parts, this.bufferedBytes);
    this.start = 0;
    this.more = undefined;
  }
}
