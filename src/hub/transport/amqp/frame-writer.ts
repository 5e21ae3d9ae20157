/**
 * rhea encodes every outgoing AMQP frame (frames.write_frame) into a new zero-filled 1 KiB buffer
 * (and a bigger one again for a transfer whose message does not fit), then slices it: in a profile
 * of `amqp-routed` the allocation alone was about 2 % of the hub's main thread. This encodes the
 * connection's frames with rhea's own writer, the same code in the same order, into one reused
 * buffer, and copies each frame out once at its exact size. The bytes are rhea's
 * (test/amqp/amqp-frame-writer.test.ts compares them on every kind of frame the hub writes).
 *
 * Installed on a connection's AMQP transport (after `accept`, which creates it). The AMQP header
 * still goes through rhea's own `write`, once. rhea's `frames` debug log of each written frame is
 * not written for the frames encoded here.
 */
import rhea, { type Connection } from 'rhea';
import { encodePerformative, FastPerformative, type RheaWriter } from './fast-frames.js';

interface FrameWriter extends RheaWriter {
  skip(bytes: number): void;
  write_uint(value: number, width: number): void;
  write_bytes(bytes: Buffer): void;
}

interface RheaFrame {
  readonly type: number;
  readonly channel: number;
  readonly performative?: unknown;
  readonly payload?: Buffer;
}

interface RheaTransport {
  header_sent: unknown;
  pending: RheaFrame[];
  write(socket: { write(bytes: Buffer): unknown }): void;
}

const types = (rhea as unknown as { types: { Writer: new (buffer?: Buffer) => FrameWriter } }).types;
/** AMQP frame type of AMQP (not SASL) frames, and the data offset rhea writes (2 words: no extended header). */
const FRAME_TYPE_AMQP = 0x00;
const DATA_OFFSET_WORDS = 2;
/** The frame's size field, filled in once the frame is written (AMQP 1.0 section 2.3.1). */
const SIZE_FIELD_BYTES = 4;
/** rhea's Writer grows this when a frame needs more (and keeps the larger buffer). */
const INITIAL_BYTES = 16 * 1024;

const writer = new types.Writer(Buffer.alloc(INITIAL_BYTES));

/** One frame's bytes, exactly as rhea's frames.write_frame writes them. */
export function encodeFrame(frame: RheaFrame): Buffer {
  writer.position = 0;
  writer.skip(SIZE_FIELD_BYTES);
  writer.write_uint(DATA_OFFSET_WORDS, 1);
  writer.write_uint(frame.type, 1);
  // The AMQP transport carries only AMQP frames; anything else goes the way rhea would throw it.
  if (frame.type !== FRAME_TYPE_AMQP) throw new TypeError(`unexpected frame type ${frame.type} on the AMQP transport`);
  writer.write_uint(frame.channel, 2);
  const performative = frame.performative;
  if (performative) {
    // Transfers, dispositions and flows by hand (fast-frames.ts); rhea's writer for the rest.
    if (!(performative instanceof FastPerformative && encodePerformative(writer, performative))) writer.write(performative);
    if (frame.payload) writer.write_bytes(frame.payload);
  }
  const size = writer.position;
  const out = Buffer.allocUnsafe(size);
  writer.buffer.copy(out, 0, 0, size);
  out.writeUInt32BE(size, 0);
  return out;
}

/** Makes the connection's AMQP transport encode its frames with encodeFrame. */
export function reuseFrameBuffer(connection: Connection): void {
  const transport = (connection as unknown as { amqp_transport: RheaTransport }).amqp_transport;
  const write = transport.write;
  transport.write = function writeFrames(this: RheaTransport, socket): void {
    // The first write sends the protocol header: rhea's own, as it is.
    if (!this.header_sent) return write.call(this, socket);
    for (const frame of this.pending) socket.write(encodeFrame(frame));
    this.pending = [];
  };
}
