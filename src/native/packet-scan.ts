/**
 * Scanning an MQTT byte stream into packets, a whole chunk per call: the work of PacketFramer
 * (boundaries, MQTT-1.5.5 remaining length, Maximum Packet Size) and of decodePublish (where the
 * topic, packet id and payload of a plain PUBLISH are) in one pass, written as offsets into an
 * Int32Array instead of one Buffer and one object per packet. This TypeScript version is the
 * specification; native/outpost_native.c must give identical output for every input (the
 * differential test in test/native/ checks it on random streams).
 *
 * out layout: [status, stopOffset, detail, 0, then SCAN_STRIDE int32 per packet]
 *   record: [start, end, topicStart, topicEnd, payloadStart, packetId]
 *   topicStart is -1 when the packet is not a PUBLISH the fast path decodes (any other type,
 *   QoS 3, a truncated topic or packet id, MQTT 5 properties): the caller parses it in full.
 * status: SCAN_OK (stopped at stopOffset: the end, an incomplete packet, or `out` full),
 *   SCAN_TOO_LARGE (the packet at stopOffset would be `detail` bytes), SCAN_MALFORMED (the
 *   remaining length at stopOffset is longer than 4 bytes).
 */

export const SCAN_HEADER = 4;
export const SCAN_STRIDE = 6;
export const SCAN_OK = 0;
export const SCAN_TOO_LARGE = 1;
export const SCAN_MALFORMED = 2;

/** The interface the native addon implements too. Returns the number of packets recorded. */
export type ScanPackets = (buf: Uint8Array, start: number, end: number, maxPacketBytes: number, protocolVersion: number, out: Int32Array) => number;

/** An `out` array for up to `packets` records. */
export function scanOutput(packets: number): Int32Array {
  return new Int32Array(SCAN_HEADER + SCAN_STRIDE * packets);
}

export const scanPacketsTs: ScanPackets = (buf, start, end, maxPacketBytes, protocolVersion, out) => {
  if (!(start >= 0 && start <= end && end <= buf.length) || out.length < SCAN_HEADER) throw new RangeError('scanPackets: start/end outside the buffer, or out shorter than its header');
  const capacity = ((out.length - SCAN_HEADER) / SCAN_STRIDE) | 0;
  let count = 0;
  let pos = start;
  let status = SCAN_OK;
  let detail = 0;
  while (count < capacity) {
    // Remaining length: variable byte integer, 1 to 4 bytes (MQTT 5 section 1.5.5).
    let offset = pos + 1;
    let remaining = 0;
    let multiplier = 1;
    let complete = false;
    for (;;) {
      if (offset >= end) break;
      const byte = buf[offset]!;
      remaining += (byte & 0x7f) * multiplier;
      offset += 1;
      if ((byte & 0x80) === 0) {
        complete = true;
        break;
      }
      if (offset - pos > 4) {
        status = SCAN_MALFORMED;
        break;
      }
      multiplier *= 128;
    }
    if (!complete) break;
    const total = offset - pos + remaining;
    if (total > maxPacketBytes) {
      status = SCAN_TOO_LARGE;
      detail = total;
      break;
    }
    const packetEnd = pos + total;
    if (packetEnd > end) break;
    const base = SCAN_HEADER + SCAN_STRIDE * count;
    out[base] = pos;
    out[base + 1] = packetEnd;
    out[base + 2] = -1;
    out[base + 3] = -1;
    out[base + 4] = -1;
    out[base + 5] = 0;
    const first = buf[pos]!;
    if (first >> 4 === 3 && ((first >> 1) & 0x03) !== 3) decodePublishAt(buf, offset, packetEnd, (first >> 1) & 0x03, protocolVersion, out, base);
    count += 1;
    pos = packetEnd;
  }
  out[0] = status;
  out[1] = pos;
  out[2] = detail;
  out[3] = 0;
  return count;
};

/** decodePublish's checks, as offsets: topic length, packet id for QoS > 0, an empty MQTT 5 property set. */
function decodePublishAt(buf: Uint8Array, offset: number, packetEnd: number, qos: number, protocolVersion: number, out: Int32Array, base: number): void {
  if (offset + 2 > packetEnd) return;
  const topicLength = (buf[offset]! << 8) | buf[offset + 1]!;
  const topicStart = offset + 2;
  const topicEnd = topicStart + topicLength;
  if (topicEnd > packetEnd) return;
  let at = topicEnd;
  let packetId = 0;
  if (qos > 0) {
    if (at + 2 > packetEnd) return;
    packetId = (buf[at]! << 8) | buf[at + 1]!;
    at += 2;
  }
  if (protocolVersion === 5) {
    if (at >= packetEnd || buf[at] !== 0) return;
    at += 1;
  }
  out[base + 2] = topicStart;
  out[base + 3] = topicEnd;
  out[base + 4] = at;
  out[base + 5] = packetId;
}
