/**
 * The three AMQP performatives of the message path — transfer, disposition, flow — read and
 * written by hand instead of by rhea's generic codec.
 *
 * rhea builds each performative it writes through a composite type (`c.create`: a setter per
 * field that wraps the value in a typed object, then a list of them) and encodes it by walking
 * those objects; it decodes each frame it reads into typed objects first and unwraps them on
 * every field access. In a profile of `amqp-routed` (about 3 frames per message: the transfer
 * in, its disposition out, the module input's transfer out and its disposition in, plus flows)
 * that was about a tenth of the hub's main thread, and much of its garbage.
 *
 * - Writing: `frames.transfer`/`disposition`/`flow` return a FastPerformative holding the fields
 *   rhea passed. encodeFrame (frame-writer.ts) writes it directly; anything else that writes it
 *   (rhea's own `write_frame`, on connections without frame-writer) calls `described()`, which
 *   builds rhea's composite from the same fields, so the bytes are the same either way.
 * - Reading: `frames.read_frame` decodes those three performatives into objects with rhea's
 *   field names and values (null where the frame says null, undefined where the list is shorter)
 *   and rhea's `dispatch`. Anything it does not recognise, it hands to rhea's own reader as it is:
 *   other performatives, SASL frames, an extended header, a transfer with a delivery state, a
 *   flow with properties, a type code a field does not expect.
 *
 * Both replace functions on rhea's shared `frames` module, so they apply to every rhea
 * connection in the process (the upstream link's included); installFastFrames is idempotent.
 * test/amqp/amqp-fast-frames.test.ts compares both directions with rhea's originals.
 */
import { createRequire } from 'node:module';
import rhea from 'rhea';

type Fields = Record<string, unknown>;

interface Typed {
  readonly type?: unknown;
  readonly descriptor?: unknown;
  readonly value?: unknown;
}

interface RheaReader {
  position: number;
  read(): Typed;
}

export interface RheaWriter {
  buffer: Buffer;
  position: number;
  ensure(length: number): void;
  write(value: unknown): void;
}

interface RheaFrame {
  size?: number;
  type: number;
  channel: number;
  performative?: unknown;
  payload?: Buffer;
}

interface RheaFrames {
  read_frame(buffer: Buffer): RheaFrame | null;
  transfer(fields: Fields): unknown;
  disposition(fields: Fields): unknown;
  flow(fields: Fields): unknown;
}

// rhea does not export its frames module; this is the same instance its connections use.
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as RheaFrames;
const types = (rhea as unknown as { types: { Reader: new (buffer: Buffer) => RheaReader } }).types;

/** The field types these three performatives use (rhea's definitions in lib/frames.js). */
const enum FieldType {
  Uint,
  Boolean,
  Binary,
  Ubyte,
  /** rhea keeps the decoded value as it is (disposition's state). */
  Any,
  /** Typed values rhea unwraps on access (a transfer's state, a flow's properties): only null is read here. */
  NullOnly,
}

export interface Definition {
  readonly name: string;
  /** The method rhea's handlers take it with. */
  readonly handler: string;
  readonly code: number;
  readonly fields: ReadonlyArray<{ readonly name: string; readonly type: FieldType; readonly mandatory?: boolean }>;
}

// AMQP 1.0 section 2.7: the fields in list order.
const FLOW: Definition = {
  name: 'flow',
  handler: 'on_flow',
  code: 0x13,
  fields: [
    { name: 'next_incoming_id', type: FieldType.Uint },
    { name: 'incoming_window', type: FieldType.Uint, mandatory: true },
    { name: 'next_outgoing_id', type: FieldType.Uint, mandatory: true },
    { name: 'outgoing_window', type: FieldType.Uint, mandatory: true },
    { name: 'handle', type: FieldType.Uint },
    { name: 'delivery_count', type: FieldType.Uint },
    { name: 'link_credit', type: FieldType.Uint },
    { name: 'available', type: FieldType.Uint },
    { name: 'drain', type: FieldType.Boolean },
    { name: 'echo', type: FieldType.Boolean },
    { name: 'properties', type: FieldType.NullOnly },
  ],
};
const TRANSFER: Definition = {
  name: 'transfer',
  handler: 'on_transfer',
  code: 0x14,
  fields: [
    { name: 'handle', type: FieldType.Uint, mandatory: true },
    { name: 'delivery_id', type: FieldType.Uint },
    { name: 'delivery_tag', type: FieldType.Binary },
    { name: 'message_format', type: FieldType.Uint },
    { name: 'settled', type: FieldType.Boolean },
    { name: 'more', type: FieldType.Boolean },
    { name: 'rcv_settle_mode', type: FieldType.Ubyte },
    { name: 'state', type: FieldType.NullOnly },
    { name: 'resume', type: FieldType.Boolean },
    { name: 'aborted', type: FieldType.Boolean },
    { name: 'batchable', type: FieldType.Boolean },
  ],
};
const DISPOSITION: Definition = {
  name: 'disposition',
  handler: 'on_disposition',
  code: 0x15,
  fields: [
    { name: 'role', type: FieldType.Boolean, mandatory: true },
    { name: 'first', type: FieldType.Uint, mandatory: true },
    { name: 'last', type: FieldType.Uint },
    { name: 'settled', type: FieldType.Boolean },
    { name: 'state', type: FieldType.Any },
    { name: 'batchable', type: FieldType.Boolean },
  ],
};

/** AMQP 1.0 type codes (section 1.6). */
const enum Code {
  Described = 0x00,
  Null = 0x40,
  True = 0x41,
  False = 0x42,
  Uint0 = 0x43,
  List0 = 0x45,
  Ubyte = 0x50,
  SmallUint = 0x52,
  SmallUlong = 0x53,
  Boolean = 0x56,
  Uint = 0x70,
  Vbin8 = 0xa0,
  Vbin32 = 0xb0,
  List8 = 0xc0,
  List32 = 0xd0,
}
const FRAME_TYPE_AMQP = 0x00;
/** Frame header: size (4), data offset (1), type (1), channel (2). */
const FRAME_HEADER_BYTES = 8;
const DATA_OFFSET_WORDS = 2;
/** `00 53 xx`: a performative's descriptor as a small ulong. */
const DESCRIPTOR_BYTES = 3;

// ---- writing ---------------------------------------------------------------------------------

/** A performative rhea asked for, kept as its fields until it is encoded. */
export class FastPerformative {
  constructor(
    readonly definition: Definition,
    readonly fields: Fields,
    private readonly create: (fields: Fields) => { described(): unknown },
  ) {}

  /** What rhea's writer encodes: its own composite, built from the same fields. */
  described(): unknown {
    return this.create(this.fields).described();
  }

  dispatch(target: Record<string, (frame: unknown) => void>, frame: unknown): void {
    target[this.definition.handler]!(frame);
  }
}

/** Whether the value has a fast encoding of the field's type (else rhea's writer takes the frame). */
function encodable(type: FieldType, value: unknown): boolean {
  switch (type) {
    case FieldType.Uint:
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
    case FieldType.Ubyte:
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xff;
    case FieldType.Binary:
      return Buffer.isBuffer(value);
    case FieldType.Boolean:
    case FieldType.Any:
      return true;
    case FieldType.NullOnly:
      return false;
  }
}

/**
 * Writes the performative (descriptor and list) at the writer's position as rhea's composite
 * would: fields at their list index, holes and null/undefined as null, a list32 always (rhea's
 * wrap_list). Returns false, having written nothing, when a field is outside what it handles.
 */
export function encodePerformative(writer: RheaWriter, performative: FastPerformative): boolean {
  const { definition, fields } = performative;
  const defs = definition.fields;
  let count = 0;
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i]!;
    if (!(def.name in fields)) continue;
    count = i + 1;
    const value = fields[def.name];
    if (value === undefined || value === null) {
      if (def.mandatory === true) return false;
    } else if (!encodable(def.type, value)) return false;
  }
  const start = writer.position;
  // The largest fixed part: descriptor 3, list32 header 9, 11 fields of at most 5 bytes.
  writer.ensure(start + 80);
  let buffer = writer.buffer;
  let at = start;
  buffer[at++] = Code.Described;
  buffer[at++] = Code.SmallUlong;
  buffer[at++] = definition.code;
  buffer[at] = Code.List32;
  const sizeAt = at + 1;
  buffer.writeUInt32BE(count, at + 5);
  at += 9;
  for (let i = 0; i < count; i++) {
    const def = defs[i]!;
    const value = def.name in fields ? fields[def.name] : undefined;
    if (value === undefined || value === null) {
      buffer[at++] = Code.Null;
      continue;
    }
    switch (def.type) {
      case FieldType.Uint: {
        const n = value as number;
        if (n === 0) buffer[at++] = Code.Uint0;
        else if (n > 0xff) {
          buffer[at] = Code.Uint;
          buffer.writeUInt32BE(n, at + 1);
          at += 5;
        } else {
          buffer[at++] = Code.SmallUint;
          buffer[at++] = n;
        }
        break;
      }
      case FieldType.Ubyte:
        buffer[at++] = Code.Ubyte;
        buffer[at++] = value as number;
        break;
      case FieldType.Boolean:
        buffer[at++] = value ? Code.True : Code.False;
        break;
      case FieldType.Binary: {
        const bytes = value as Buffer;
        writer.ensure(at + 5 + bytes.length + 5 * (count - i));
        buffer = writer.buffer;
        if (bytes.length > 0xff) {
          buffer[at] = Code.Vbin32;
          buffer.writeUInt32BE(bytes.length, at + 1);
          at += 5;
        } else {
          buffer[at++] = Code.Vbin8;
          buffer[at++] = bytes.length;
        }
        bytes.copy(buffer, at);
        at += bytes.length;
        break;
      }
      case FieldType.Any:
        // A delivery state: rhea's own writer, for this one value.
        writer.position = at;
        writer.write(value);
        at = writer.position;
        writer.ensure(at + 5 * (count - i));
        buffer = writer.buffer;
        break;
      case FieldType.NullOnly:
        throw new TypeError('unreachable: checked above');
    }
  }
  buffer.writeUInt32BE(at - sizeAt - 4, sizeAt);
  writer.position = at;
  return true;
}

// ---- reading ---------------------------------------------------------------------------------

/** rhea's decoded performatives dispatch to the handler's `on_<name>`; so do these. */
class DecodedPerformative {
  [field: string]: unknown;
  constructor(private readonly handler: string) {}
  dispatch(target: Record<string, (frame: unknown) => void>, frame: unknown): void {
    target[this.handler]!(frame);
  }
}

const BY_CODE = new Map<number, Definition>([FLOW, TRANSFER, DISPOSITION].map((d) => [d.code, d]));

/** The `accepted` outcome (`00 53 24 45`), decoded once by rhea: rhea only reads it. */
const ACCEPTED_BYTES = Buffer.from([Code.Described, Code.SmallUlong, 0x24, Code.List0]);
const ACCEPTED_STATE = new types.Reader(ACCEPTED_BYTES).read();

/**
 * Decodes a whole frame (`buffer` is exactly one) when it is a flow, transfer or disposition of
 * the shapes above; undefined for anything else (rhea's reader takes it).
 */
export function decodeFastFrame(buffer: Buffer): RheaFrame | undefined {
  if (buffer.length < FRAME_HEADER_BYTES + DESCRIPTOR_BYTES + 1) return undefined;
  if (buffer[4] !== DATA_OFFSET_WORDS || buffer[5] !== FRAME_TYPE_AMQP) return undefined;
  if (buffer[8] !== Code.Described || buffer[9] !== Code.SmallUlong) return undefined;
  const definition = BY_CODE.get(buffer[10]!);
  if (definition === undefined) return undefined;
  let at = FRAME_HEADER_BYTES + DESCRIPTOR_BYTES;
  let count: number;
  let end: number;
  switch (buffer[at]) {
    case Code.List0:
      count = 0;
      end = at + 1;
      at += 1;
      break;
    case Code.List8:
      if (at + 3 > buffer.length) return undefined;
      end = at + 2 + buffer[at + 1]!;
      count = buffer[at + 2]!;
      at += 3;
      break;
    case Code.List32:
      if (at + 9 > buffer.length) return undefined;
      end = at + 5 + buffer.readUInt32BE(at + 1);
      count = buffer.readUInt32BE(at + 5);
      at += 9;
      break;
    default:
      return undefined;
  }
  const defs = definition.fields;
  if (end > buffer.length || count > defs.length) return undefined;
  const performative = new DecodedPerformative(definition.handler);
  for (let i = 0; i < defs.length; i++) performative[defs[i]!.name] = undefined;
  for (let i = 0; i < count; i++) {
    if (at >= end) return undefined;
    const def = defs[i]!;
    const code = buffer[at]!;
    if (def.type === FieldType.Any) {
      // rhea keeps this value as its reader returns it (a typed null included).
      if (end - at >= ACCEPTED_BYTES.length && buffer.compare(ACCEPTED_BYTES, 0, ACCEPTED_BYTES.length, at, at + ACCEPTED_BYTES.length) === 0) {
        performative[def.name] = ACCEPTED_STATE;
        at += ACCEPTED_BYTES.length;
      } else {
        const reader = new types.Reader(buffer.subarray(0, end));
        reader.position = at;
        performative[def.name] = reader.read();
        at = reader.position;
      }
      continue;
    }
    if (code === Code.Null) {
      performative[def.name] = null;
      at++;
      continue;
    }
    switch (def.type) {
      case FieldType.Uint:
        if (code === Code.Uint0) {
          performative[def.name] = 0;
          at += 1;
        } else if (code === Code.SmallUint) {
          performative[def.name] = buffer[at + 1];
          at += 2;
        } else if (code === Code.Uint) {
          if (at + 5 > end) return undefined;
          performative[def.name] = buffer.readUInt32BE(at + 1);
          at += 5;
        } else return undefined;
        break;
      case FieldType.Boolean:
        if (code === Code.True || code === Code.False) {
          performative[def.name] = code === Code.True;
          at += 1;
        } else if (code === Code.Boolean) {
          // rhea reads the two-byte form as its byte (0 or 1), not as a boolean.
          performative[def.name] = buffer[at + 1];
          at += 2;
        } else return undefined;
        break;
      case FieldType.Ubyte:
        if (code !== Code.Ubyte) return undefined;
        performative[def.name] = buffer[at + 1];
        at += 2;
        break;
      case FieldType.Binary: {
        let length: number;
        if (code === Code.Vbin8) {
          length = buffer[at + 1]!;
          at += 2;
        } else if (code === Code.Vbin32) {
          if (at + 5 > end) return undefined;
          length = buffer.readUInt32BE(at + 1);
          at += 5;
        } else return undefined;
        if (at + length > end) return undefined;
        performative[def.name] = buffer.subarray(at, at + length);
        at += length;
        break;
      }
      case FieldType.NullOnly:
        return undefined;
    }
  }
  if (at !== end) return undefined;
  const frame: RheaFrame = { size: buffer.readUInt32BE(0), type: FRAME_TYPE_AMQP, channel: buffer.readUInt16BE(6), performative };
  if (end < buffer.length) frame.payload = buffer.subarray(end);
  return frame;
}

// ---- installing ------------------------------------------------------------------------------

let installed = false;

/** Puts the fast reader and writers in front of rhea's (once per process). */
export function installFastFrames(): void {
  if (installed) return;
  installed = true;
  const readFrame = frames.read_frame;
  frames.read_frame = function fastReadFrame(buffer: Buffer): RheaFrame | null {
    return decodeFastFrame(buffer) ?? readFrame(buffer);
  };
  for (const definition of [FLOW, TRANSFER, DISPOSITION]) {
    const key = definition.name as 'flow' | 'transfer' | 'disposition';
    const create = frames[key] as (fields: Fields) => { described(): unknown };
    frames[key] = (fields: Fields) => new FastPerformative(definition, fields, create);
  }
}
