// The client side of WebSocket (RFC 6455) for the load generator's MQTT-over-WebSocket module
// clients (mqtt-routed-ws): the upgrade request, frame headers for what the client writes, and a
// deframer for what the hub writes. Just enough for a binary stream of MQTT packets: the packets
// of one write go in one binary frame, and frames need not align with packets (the hub reads a
// byte stream, as the Azure SDKs' MqttWs transport expects).
//
// Client frames must be masked (RFC 6455 5.3); the generator uses the all-zero masking key, which
// leaves the payload as it is, so masking costs it nothing. The hub cannot tell: it unmasks every
// frame whatever the key, so its cost is what it is with any client. (A browser picks a random
// key to defeat cache poisoning through proxies; nothing is between the generator and the hub.)
import { randomBytes } from 'node:crypto';

const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const FIN = 0x80;
const MASK_BIT = 0x80;
const LENGTH_16 = 126;
const LENGTH_64 = 127;

/** The HTTP/1.1 upgrade request for `path`, offering `subprotocol`. */
export function upgradeRequest(host: string, path: string, subprotocol: string): Buffer {
  const key = randomBytes(16).toString('base64');
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${subprotocol}\r\n\r\n`, 'latin1');
}

/** The header of a masked (zero key), final, binary frame of `length` payload bytes. */
export function binaryFrameHeader(length: number): Buffer {
  if (length < LENGTH_16) return Buffer.from([FIN | OPCODE_BINARY, MASK_BIT | length, 0, 0, 0, 0]);
  if (length < 65_536) {
    const header = Buffer.alloc(8);
    header[0] = FIN | OPCODE_BINARY;
    header[1] = MASK_BIT | LENGTH_16;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(14);
  header[0] = FIN | OPCODE_BINARY;
  header[1] = MASK_BIT | LENGTH_64;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/**
 * Reads the hub's frames (unmasked, RFC 6455 5.1) and hands on each data frame's payload in order;
 * a close or a ping goes to `control` (the generator answers neither: the run ends first).
 */
export class WsDeframer {
  private pending: Buffer | undefined;

  constructor(
    private readonly payload: (bytes: Buffer) => void,
    private readonly control: (opcode: number) => void,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let offset = 0;
    while (buf.length - offset >= 2) {
      const opcode = buf[offset]! & 0x0f;
      let length = buf[offset + 1]! & 0x7f;
      let header = 2;
      if (length === LENGTH_16) {
        if (buf.length - offset < 4) break;
        length = buf.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === LENGTH_64) {
        if (buf.length - offset < 10) break;
        length = Number(buf.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (buf.length - offset < header + length) break;
      const start = offset + header;
      if (opcode === OPCODE_CLOSE || opcode === OPCODE_PING) this.control(opcode);
      else if (length > 0) this.payload(buf.subarray(start, start + length));
      offset = start + length;
    }
    if (offset < buf.length) this.pending = buf.subarray(offset);
  }
}

/** Splits the upgrade response from what follows it; undefined until the header is complete. */
export function upgradeResponse(buffered: Buffer): { status: number; rest: Buffer } | undefined {
  const end = buffered.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const statusLine = buffered.subarray(0, buffered.indexOf('\r\n')).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
  return { status, rest: buffered.subarray(end + 4) };
}
