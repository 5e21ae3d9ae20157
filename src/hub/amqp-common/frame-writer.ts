/**
 * How the hub writes its AMQP frames. rhea encodes every outgoing frame (frames.write_frame) into
 * a new zero-filled 1 KiB buffer, slices it, and writes it to the socket by itself. Here a
 * connection's frames are encoded with rhea's own writer (and fast-frames.ts for transfers,
 * dispositions and flows) back to back into one buffer per tick, written once (FrameOutbox). The
 * bytes are rhea's (test/amqp/amqp-frame-writer.test.ts compares them on every kind of frame the
 * hub writes; amqp-fast-frames.test.ts the three fast ones).
 *
 * Installed on a connection's AMQP transport (after `accept`, which creates it). The AMQP header
 * still goes through rhea's own `write`, once. rhea's `frames` debug log of each written frame is
 * not written for the frames encoded here.
 */
import type { Duplex } from 'node:stream';
import rhea, { type Connection } from 'rhea';
import { encodePerformative, FastPerformative, installFastFrames, type RheaWriter } from './fast-frames.js';
import { installSessionScheduling } from './session-scheduling.js';
import { installQuietRheaLog } from './quiet-rhea-log.js';
import { installFastDispatch } from './event-dispatch.js';
import { installSharedLinkAccessors } from './shared-link-accessors.js';

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

/** Appends one frame at the writer's position, exactly as rhea's frames.write_frame writes it. */
function encodeFrameInto(target: FrameWriter, frame: RheaFrame): void {
  const start = target.position;
  target.skip(SIZE_FIELD_BYTES);
  target.write_uint(DATA_OFFSET_WORDS, 1);
  target.write_uint(frame.type, 1);
  // The AMQP transport carries only AMQP frames; anything else goes the way rhea would throw it.
  if (frame.type !== FRAME_TYPE_AMQP) throw new TypeError(`unexpected frame type ${frame.type} on the AMQP transport`);
  target.write_uint(frame.channel, 2);
  const performative = frame.performative;
  if (performative) {
    // Transfers, dispositions and flows by hand (fast-frames.ts); rhea's writer for the rest.
    if (!(performative instanceof FastPerformative && encodePerformative(target, performative))) target.write(performative);
    if (frame.payload) target.write_bytes(frame.payload);
  }
  target.buffer.writeUInt32BE(target.position - start, start);
}

/** One frame's bytes, exactly as rhea's frames.write_frame writes them. */
export function encodeFrame(frame: RheaFrame): Buffer {
  writer.position = 0;
  encodeFrameInto(writer, frame);
  const out = Buffer.allocUnsafe(writer.position);
  writer.buffer.copy(out, 0, 0, writer.position);
  return out;
}

/** A tick's first buffer is as large as the last tick needed, within these bounds. */
const MIN_TICK_BYTES = 4 * 1024;
const MAX_TICK_HINT_BYTES = 64 * 1024;
/**
 * Past this many bytes the frames waiting are written at once and a new buffer started: one
 * tick can encode thousands of frames (a store batch of module inputs), and a buffer holding all
 * of them grew by doubling, copies and all, to peaks of hundreds of KiB per connection.
 */
const WRITE_AT_BYTES = 64 * 1024;
const NO_BYTES = Buffer.alloc(0);

type Writable = Pick<Duplex, 'write' | 'end'>;

/**
 * A stream and its connection's AMQP transport keep their FrameOutbox (the shared wrappers below
 * find it there). A named property, not a symbol: V8 turns an object with many properties (a
 * TLSSocket) into a dictionary when one more is added by a computed key.
 */
type Outboxed = { outpostFrameOutbox?: FrameOutbox };

/** rhea's Writer, growing into an unfilled buffer: every byte of it is written before it is sent. */
class GrowingWriter extends types.Writer {
  override ensure(length: number): void {
    if (this.buffer.length >= length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, length));
    this.buffer.copy(bigger, 0, 0, this.position);
    this.buffer = bigger;
  }
}

/**
 * The frames a connection writes in one tick, encoded back to back into one buffer and handed to
 * the stream once, on process.nextTick: one write per tick instead of one per frame (each a
 * stream request, an allocation and a copy out of the encoder's buffer). Anything else written to
 * the stream, and its end, first takes what is waiting, so the order on the wire stays rhea's.
 * An idle connection holds no buffer.
 */
class FrameOutbox {
  private readonly writer = new GrowingWriter(NO_BYTES);
  private scheduled = false;
  private sizeHint = MIN_TICK_BYTES;

  constructor(
    private readonly stream: Writable,
    /** The stream's and the transport's own, which the wrappers below call after taking what waits here. */
    readonly write: Writable['write'],
    readonly end: Writable['end'],
    readonly transportWrite: RheaTransport['write'],
  ) {}

  append(frame: RheaFrame): void {
    const writer = this.writer;
    if (writer.buffer.length === 0) writer.buffer = Buffer.allocUnsafe(this.sizeHint);
    const start = writer.position;
    try {
      encodeFrameInto(writer, frame);
    } catch (error) {
      // A frame rhea cannot encode either: none of it goes out (rhea throws before writing too).
      writer.position = start;
      throw error;
    }
    if (writer.position >= WRITE_AT_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushOutbox, this);
    }
  }

  flush(): void {
    this.scheduled = false;
    const writer = this.writer;
    const used = writer.position;
    if (used === 0) return;
    const out = writer.buffer.subarray(0, used);
    writer.buffer = NO_BYTES;
    writer.position = 0;
    this.sizeHint = Math.min(MAX_TICK_HINT_BYTES, Math.max(MIN_TICK_BYTES, used));
    (this.write as (chunk: Buffer) => boolean).call(this.stream, out);
  }
}

function flushOutbox(outbox: FrameOutbox): void {
  outbox.flush();
}

// The stream's and the transport's wrappers, one function each for every connection: `this` is
// the stream or the transport, which keeps its FrameOutbox (a closure per connection each before).
function writeAfterFrames(this: Writable & Outboxed, ...args: Parameters<Writable['write']>): boolean {
  const outbox = this.outpostFrameOutbox!;
  outbox.flush();
  return (outbox.write as (...a: Parameters<Writable['write']>) => boolean).apply(this, args);
}

function endAfterFrames(this: Writable & Outboxed, ...args: unknown[]): Writable {
  const outbox = this.outpostFrameOutbox!;
  outbox.flush();
  return (outbox.end as (...a: unknown[]) => Writable).apply(this, args);
}

function writeFrames(this: RheaTransport & Outboxed, socket: { write(bytes: Buffer): unknown }): void {
  const outbox = this.outpostFrameOutbox!;
  // The first write sends the protocol header: rhea's own, as it is.
  if (!this.header_sent) return outbox.transportWrite.call(this, socket);
  // Taken first: a frame that throws must not leave those before it to be sent again.
  const pending = this.pending;
  this.pending = [];
  for (const frame of pending) outbox.append(frame);
}

/**
 * Makes the connection's AMQP transport encode its frames into a FrameOutbox on `stream` (the
 * stream the connection was accepted or connected on), and installs fast-frames.ts (process-wide,
 * once) so that its transfers, dispositions and flows are read and written by hand, and
 * session-scheduling.ts so that a tick walks only the sessions with something to write; it
 * silences rhea's loggers that are off (quiet-rhea-log.ts), dispatches its events without
 * copying listener arrays (event-dispatch.ts) and gives links their getters from their prototype
 * (shared-link-accessors.ts).
 */
export function reuseFrameBuffer(connection: Connection, stream: Writable): void {
  installFastFrames();
  installSessionScheduling();
  installQuietRheaLog();
  installFastDispatch();
  installSharedLinkAccessors();
  const transport = (connection as unknown as { amqp_transport: RheaTransport & Outboxed }).amqp_transport;
  const outbox = new FrameOutbox(stream, stream.write, stream.end, transport.write);
  const owner = stream as Writable & Outboxed;
  owner.outpostFrameOutbox = outbox;
  transport.outpostFrameOutbox = outbox;
  stream.write = writeAfterFrames as Writable['write'];
  stream.end = endAfterFrames as Writable['end'];
  transport.write = writeFrames;
}
