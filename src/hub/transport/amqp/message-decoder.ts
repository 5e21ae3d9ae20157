/**
 * A fast path for decoding the messages of telemetry and module-output links, with rhea's decoder
 * as the reference and the fallback.
 *
 * Why: in a profile of `amqp-routed`, rhea's `message.decode` of every transfer was about 4 % of
 * the hub's main thread (a Reader, a Typed object per value, a composite per section, getters that
 * unwrap each field). This reads the common shapes in one pass and gives what rhea's decoder gives
 * for them, for every field toHubMessage (amqp-message.ts) reads: the properties, application
 * properties, message annotations and body.
 *
 * What it takes: sections with a small-ulong descriptor (header, delivery and message annotations,
 * properties, application properties, data, amqp-value, footer), holding null, booleans, the
 * unsigned and small signed integers, timestamps, strings, symbols and binaries, in lists and maps
 * whose sizes and counts add up exactly. Anything else (a uuid or ulong id, a described or list
 * value, an amqp-sequence body, a map key that is not a string or is `__proto__`, a size that does
 * not match, trailing bytes) returns `undefined` and rhea decodes the message as before, errors
 * included. The differential test (test/amqp/amqp-message-decoder.test.ts) compares both on
 * generated and on mutated messages.
 *
 * It is plugged into rhea per session: a flagged receiver's delivery in one frame goes through
 * leanTransfer (rhea's on_transfer for that case, calling it directly), a multi-frame one through
 * rhea's on_transfer with `rhea.message.decode` swapped while it runs (rhea decodes inside it and
 * dispatches the message synchronously), so no other link and no other rhea user sees it.
 */
import rhea, { type Message, type Receiver, type Session } from 'rhea';

const codec = rhea.message as unknown as { decode(bytes: Buffer): Message; data_section(data: Buffer): unknown; data_sections(data: Buffer[]): unknown };
const rheaDecode = codec.decode;

/** AMQP 1.0 type codes (part 1, section 1.6) read on the fast path. */
const Code = {
  Described: 0x00,
  Null: 0x40,
  True: 0x41,
  False: 0x42,
  Uint0: 0x43,
  Ulong0: 0x44,
  List0: 0x45,
  Ubyte: 0x50,
  Byte: 0x51,
  SmallUint: 0x52,
  SmallUlong: 0x53,
  SmallInt: 0x54,
  SmallLong: 0x55,
  Boolean: 0x56,
  Ushort: 0x60,
  Uint: 0x70,
  Int: 0x71,
  Timestamp: 0x83,
  Vbin8: 0xa0,
  Str8: 0xa1,
  Sym8: 0xa3,
  Vbin32: 0xb0,
  Str32: 0xb1,
  Sym32: 0xb3,
  List8: 0xc0,
  Map8: 0xc1,
  List32: 0xd0,
  Map32: 0xd1,
} as const;
/** Largest value of a signed byte; above it a byte is negative (two's complement). */
const INT8_MAX = 127;
/** A compound's size counts its count field: one byte in the 8-bit forms, four in the 32-bit ones. */
const COUNT8_BYTES = 1;
const COUNT32_BYTES = 4;
const BYTE_RANGE = 256;

/** Section descriptors (AMQP 1.0 part 3, section 3.2). */
const Section = { Header: 0x70, DeliveryAnnotations: 0x71, MessageAnnotations: 0x72, Properties: 0x73, ApplicationProperties: 0x74, Data: 0x75, Value: 0x77, Footer: 0x78 } as const;
/** The properties section's fields, in order (section 3.2.4). */
const PROPERTY_FIELDS = ['message_id', 'user_id', 'to', 'subject', 'reply_to', 'correlation_id', 'content_type', 'content_encoding', 'absolute_expiry_time', 'creation_time', 'group_id', 'group_sequence', 'reply_to_group_id'] as const;
/** The header section's fields, in order (section 3.2.1). */
const HEADER_FIELDS = ['durable', 'priority', 'ttl', 'first_acquirer', 'delivery_count'] as const;
/** rhea reads a long as a number only when its high word is within ±2^21 (otherwise bytes). */
const LONG_HIGH_LIMIT = 2_097_153;
const TWO_TO_32 = 4_294_967_296;

/** Thrown internally when the bytes leave the fast path; never escapes decodeMessage. */
const UNSUPPORTED = Symbol('unsupported');

class Cursor {
  pos = 0;
  constructor(
    readonly bytes: Buffer,
    readonly end: number,
  ) {}

  need(count: number): void {
    if (this.pos + count > this.end) throw UNSUPPORTED;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const value = this.bytes.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  slice(length: number): Buffer {
    this.need(length);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

/** One value as rhea unwraps it, for the types on the fast path. */
function value(c: Cursor): unknown {
  const code = c.u8();
  switch (code) {
    case Code.Null:
      return null;
    case Code.True:
      return true;
    case Code.False:
      return false;
    case Code.Uint0:
    case Code.Ulong0:
      return 0;
    case Code.Ubyte:
    case Code.SmallUint:
    case Code.SmallUlong:
    case Code.Boolean: // rhea gives its byte, not a boolean
      return c.u8();
    case Code.Byte:
    case Code.SmallInt:
    case Code.SmallLong: {
      const v = c.u8();
      return v > INT8_MAX ? v - BYTE_RANGE : v;
    }
    case Code.Ushort: {
      c.need(2);
      const v = c.bytes.readUInt16BE(c.pos);
      c.pos += 2;
      return v;
    }
    case Code.Uint:
      return c.u32();
    case Code.Int: {
      c.need(4);
      const v = c.bytes.readInt32BE(c.pos);
      c.pos += 4;
      return v;
    }
    case Code.Timestamp: {
      c.need(8);
      const high = c.bytes.readInt32BE(c.pos);
      const low = c.bytes.readUInt32BE(c.pos + 4);
      c.pos += 8;
      if (high >= LONG_HIGH_LIMIT || high <= -LONG_HIGH_LIMIT) throw UNSUPPORTED;
      return new Date(high * TWO_TO_32 + low);
    }
    case Code.Vbin8:
      return c.slice(c.u8());
    case Code.Vbin32:
      return c.slice(c.u32());
    case Code.Str8:
      return c.slice(c.u8()).toString('utf8');
    case Code.Str32:
      return c.slice(c.u32()).toString('utf8');
    case Code.Sym8:
      return c.slice(c.u8()).toString('ascii');
    case Code.Sym32:
      return c.slice(c.u32()).toString('ascii');
    default:
      throw UNSUPPORTED;
  }
}

/** A list or map header: the cursor over exactly its items, and their count. */
function compound(c: Cursor, list: boolean): { items: Cursor; count: number } {
  const code = c.u8();
  let size: number;
  let count: number;
  if (list && code === Code.List0) {
    const none = new Cursor(c.bytes, c.pos);
    none.pos = c.pos;
    return { items: none, count: 0 };
  }
  if (code === (list ? Code.List8 : Code.Map8)) {
    size = c.u8();
    if (size < COUNT8_BYTES) throw UNSUPPORTED;
    c.need(size);
    count = c.u8();
    size -= COUNT8_BYTES;
  } else if (code === (list ? Code.List32 : Code.Map32)) {
    size = c.u32();
    if (size < COUNT32_BYTES) throw UNSUPPORTED;
    c.need(size);
    count = c.u32();
    size -= COUNT32_BYTES;
  } else throw UNSUPPORTED;
  const items = new Cursor(c.bytes, c.pos + size);
  items.pos = c.pos;
  c.pos += size;
  return { items, count };
}

function finished(items: Cursor): void {
  if (items.pos !== items.end) throw UNSUPPORTED;
}

/** A map as rhea's unwrap_map_simple makes it: plain assignment, keys as strings. */
function map(c: Cursor): Record<string, unknown> {
  const { items, count } = compound(c, false);
  if (count % 2 !== 0) throw UNSUPPORTED;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i += 2) {
    const key = value(items);
    // Only string keys: other types are coerced by rhea in ways not worth copying; `__proto__`
    // would set the object's prototype there.
    if (typeof key !== 'string' || key === '__proto__') throw UNSUPPORTED;
    out[key] = value(items);
  }
  finished(items);
  return out;
}

function list(c: Cursor): unknown[] {
  const { items, count } = compound(c, true);
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = value(items);
  finished(items);
  return out;
}

/** A composite section's fields onto the message, as rhea's unwrap does: the set ones (not null). */
function composite(fields: unknown[], names: readonly string[], message: Record<string, unknown>): void {
  if (fields.length > names.length) throw UNSUPPORTED;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (field !== null && field !== undefined) message[names[i]!] = field;
  }
}

/** The message rhea would decode from these bytes, or undefined when they leave the fast path. */
export function decodeMessage(bytes: Buffer): Message | undefined {
  try {
    return decode(new Cursor(bytes, bytes.length));
  } catch (error) {
    if (error === UNSUPPORTED) return undefined;
    throw error;
  }
}

function decode(c: Cursor): Message {
  const message: Record<string, unknown> = {};
  // The body as rhea builds it: data sections gather while the body is theirs; amqp-value replaces.
  let data: Buffer[] | undefined;
  let body: unknown;
  let bodyIsData = false;
  while (c.pos < c.end) {
    if (c.u8() !== Code.Described || c.u8() !== Code.SmallUlong) throw UNSUPPORTED;
    const section = c.u8();
    switch (section) {
      case Section.Header:
        // rhea copies the header's fields onto the message, as it does the properties'.
        composite(list(c), HEADER_FIELDS, message);
        break;
      case Section.Properties:
        composite(list(c), PROPERTY_FIELDS, message);
        break;
      case Section.DeliveryAnnotations:
        message.delivery_annotations = map(c);
        break;
      case Section.MessageAnnotations:
        message.message_annotations = map(c);
        break;
      case Section.ApplicationProperties:
        message.application_properties = map(c);
        break;
      case Section.Footer:
        message.footer = map(c);
        break;
      case Section.Data: {
        const content = value(c);
        if (!Buffer.isBuffer(content)) throw UNSUPPORTED;
        if (body === undefined && data === undefined) {
          data = [content];
          bodyIsData = true;
        } else if (bodyIsData) data!.push(content);
        break;
      }
      case Section.Value: {
        const content = value(c);
        if (typeof content !== 'string' && !Buffer.isBuffer(content)) throw UNSUPPORTED;
        body = content;
        data = undefined;
        bodyIsData = false;
        break;
      }
      default:
        throw UNSUPPORTED;
    }
  }
  if (bodyIsData) message.body = data!.length === 1 ? codec.data_section(data![0]!) : codec.data_sections(data!);
  else if (body !== undefined) message.body = body;
  return message as unknown as Message;
}

/** Receivers whose transfers go through decodeMessage first. */
const fastReceivers = new WeakSet<Receiver>();

/** rhea's decode with the fast path in front. */
export function decodeFastFirst(bytes: Buffer): Message {
  return decodeMessage(bytes) ?? rheaDecode(bytes);
}

/** The receiver's messages are decoded by decodeMessage when it can (its session must be wired by decodeFastOn). */
export function useFastDecode(receiver: Receiver): void {
  fastReceivers.add(receiver);
}

interface IncomingSession {
  next_transfer_id: number;
  next_delivery_id: number | undefined;
  deliveries: { push(delivery: unknown): void };
  update(delivery: unknown, settled: boolean, state: unknown): void;
  on_transfer(frame: TransferFrame, receiver: Receiver): void;
}

interface TransferFrame {
  performative: { delivery_id?: number | null; delivery_tag?: unknown; message_format?: number | null; settled?: boolean | null; state?: unknown; more?: boolean | null };
  payload?: Buffer;
}

interface ReceiverInternals {
  _incomplete: unknown;
  credit: number;
  delivery_count: number;
  local: { attach: { rcv_settle_mode?: number } };
  is_remote_open(): boolean;
  dispatch(event: string, context: unknown): void;
  _context(context: object): unknown;
}

type Outcome = { described(): unknown };
const outcomes = rhea.message as unknown as { accepted(): Outcome; released(): Outcome; rejected(f: unknown): Outcome; modified(f: unknown): Outcome };

/**
 * An incoming delivery as rhea's Incoming.on_transfer makes it (the same fields and methods),
 * with its methods on a prototype: rhea makes six closures for each delivery.
 */
class IncomingDelivery {
  settled = false;
  state: unknown = undefined;
  incomplete = false;
  readonly remote_settled: boolean;
  readonly remote_state: unknown;

  constructor(
    private readonly incoming: IncomingSession,
    readonly link: Receiver,
    readonly id: number,
    readonly tag: unknown,
    readonly format: number | null | undefined,
    settled: boolean | null | undefined,
    state: unknown,
  ) {
    this.remote_settled = settled === undefined ? false : (settled as boolean);
    this.remote_state = state;
  }

  update(settled: boolean | undefined, state: unknown): void {
    const settledNow = settled === undefined ? (this.link as unknown as ReceiverInternals).local.attach.rcv_settle_mode !== 1 : settled;
    this.incoming.update(this, settledNow, state);
  }

  accept(): void {
    this.update(undefined, outcomes.accepted().described());
  }

  release(params?: unknown): void {
    this.update(undefined, params ? outcomes.modified(params).described() : outcomes.released().described());
  }

  reject(error: unknown): void {
    this.update(undefined, outcomes.rejected({ error }).described());
  }

  modified(params: unknown): void {
    this.update(undefined, outcomes.modified(params).described());
  }
}

/**
 * rhea's Incoming.on_transfer for a delivery in one frame (the common case) on a flagged receiver,
 * with decodeMessage first and a prototype-based delivery; the same state changes and errors.
 */
function leanTransfer(incoming: IncomingSession, frame: TransferFrame, receiver: Receiver): void {
  const link = receiver as unknown as ReceiverInternals;
  incoming.next_transfer_id++;
  if (!link.is_remote_open()) throw Error('transfer after detach');
  const p = frame.performative;
  if (incoming.next_delivery_id === undefined) incoming.next_delivery_id = p.delivery_id as number;
  if (incoming.next_delivery_id !== p.delivery_id) throw Error(`frame sequence error: expected ${incoming.next_delivery_id}, got ${p.delivery_id}`);
  const delivery = new IncomingDelivery(incoming, receiver, p.delivery_id, p.delivery_tag, p.message_format, p.settled, p.state);
  incoming.deliveries.push(delivery);
  incoming.next_delivery_id++;
  link._incomplete = undefined;
  const data = frame.payload as Buffer;
  // Beyond its credit: rhea prints to stderr; the events link detaches the sender (CreditWindow).
  if (link.credit > 0) link.credit--;
  link.delivery_count++;
  const context = delivery.format === 0 ? { message: decodeFastFirst(data), delivery } : { message: data, delivery, format: delivery.format };
  link.dispatch('message', link._context(context));
}

/** A session's incoming side keeps the on_transfer fastDecodedTransfer wraps (one function for every session, not a closure each; a named property: see input-guards.ts). */
type WrappedIncoming = IncomingSession & { outpostFastDecodeNext?: (this: IncomingSession, frame: TransferFrame, receiver: Receiver) => void };

function fastDecodedTransfer(this: WrappedIncoming, frame: TransferFrame, receiver: Receiver): void {
  if (!fastReceivers.has(receiver)) return this.outpostFastDecodeNext!.call(this, frame, receiver);
  // A delivery in one frame (not the start or the rest of a multi-frame one): the lean path.
  if ((receiver as unknown as ReceiverInternals)._incomplete === undefined && !frame.performative.more) return leanTransfer(this, frame, receiver);
  codec.decode = decodeFastFirst;
  try {
    this.outpostFastDecodeNext!.call(this, frame, receiver);
  } finally {
    codec.decode = rheaDecode;
  }
}

/** Wires a session's incoming transfers so flagged receivers get the fast decoder. */
export function decodeFastOn(session: Session): void {
  const incoming = (session as unknown as { incoming: WrappedIncoming }).incoming;
  incoming.outpostFastDecodeNext = incoming.on_transfer;
  incoming.on_transfer = fastDecodedTransfer;
}
