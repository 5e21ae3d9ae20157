import rhea, { type Message } from 'rhea';

/**
 * IoT Hub's batched AMQP message (the Azure IoT C# SDK's `SendEventBatchAsync`, which Azure's edge
 * hub uses upstream): one transfer with message-format `0x80013700`
 * (`AmqpConstants.AmqpBatchedMessageFormat`) whose body is a sequence of Data sections, each
 * holding one complete AMQP-encoded message (its properties, application properties, annotations
 * and body). Event Hubs and Service Bus use the same envelope.
 */
export const BATCHED_MESSAGE_FORMAT = 0x80013700;

/** Data section descriptor (AMQP 1.0 section 3.2.6). */
const DATA_SECTION = 0x75;
/** A Data section's head: descriptor `00 53 75`, then vbin8 (`a0`, 1-byte length) or vbin32 (`b0`, 4-byte). */
const DESCRIBED = 0x00;
const SMALL_ULONG = 0x53;
const VBIN8 = 0xa0;
const VBIN32 = 0xb0;
const VBIN8_MAX = 0xff;
/** rhea writes an empty header and an empty properties section (`00 53 70 45`, `00 53 73 45`) before any body. */
const EMPTY_HEAD = Buffer.from([DESCRIBED, SMALL_ULONG, 0x70, 0x45, DESCRIBED, SMALL_ULONG, 0x73, 0x45]);

/** The batched envelope's own bytes per Data section at most (descriptor, vbin32 code and length). */
export const BATCH_SECTION_OVERHEAD = 8;

/**
 * Writes a batched transfer's payload as its messages are encoded, each copied once from the
 * encoder's scratch into one reused buffer (instead of a Buffer per message, then the batch):
 * `reset`, `add` each encoded message, then `finish` (or `onlyPart` when one message is all there
 * is: it goes as a plain transfer). The bytes are rhea's `message.encode({ body: data_sections(parts) })`
 * (encodeBatch is built on it; test/amqp/amqp-message-decoder.test.ts compares it with rhea's).
 */
export class BatchBuilder {
  private buffer: Buffer;
  private at = 0;
  private count = 0;
  /** Sum of each part's length plus BATCH_SECTION_OVERHEAD: what a batch's bound is checked against. */
  private partsBytes = 0;
  private firstStart = 0;
  private firstEnd = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(Math.max(initialBytes, EMPTY_HEAD.length));
    this.reset();
  }

  get parts(): number {
    return this.count;
  }

  reset(): void {
    this.at = EMPTY_HEAD.copy(this.buffer, 0);
    this.count = 0;
    this.partsBytes = 0;
  }

  /**
   * Appends `bytes[0, length)` as one Data section, unless it would take the parts past `maxBytes`
   * (the first part always goes in): false, and nothing was added.
   */
  add(bytes: Buffer, length: number, maxBytes = Number.MAX_SAFE_INTEGER): boolean {
    if (this.count > 0 && this.partsBytes + length + BATCH_SECTION_OVERHEAD > maxBytes) return false;
    this.ensure(length + BATCH_SECTION_OVERHEAD);
    const out = this.buffer;
    let at = this.at;
    out[at++] = DESCRIBED;
    out[at++] = SMALL_ULONG;
    out[at++] = DATA_SECTION;
    if (length > VBIN8_MAX) {
      out[at] = VBIN32;
      out.writeUInt32BE(length, at + 1);
      at += 5;
    } else {
      out[at++] = VBIN8;
      out[at++] = length;
    }
    if (this.count === 0) this.firstStart = at;
    at += bytes.copy(out, at, 0, length);
    if (this.count === 0) this.firstEnd = at;
    this.at = at;
    this.count++;
    this.partsBytes += length + BATCH_SECTION_OVERHEAD;
    return true;
  }

  /** The batched payload, copied out (the builder is reused). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.at);
    this.buffer.copy(out, 0, 0, this.at);
    return out;
  }

  /** The first part alone, copied out: a batch of one message is sent as that message. */
  onlyPart(): Buffer {
    const out = Buffer.allocUnsafe(this.firstEnd - this.firstStart);
    this.buffer.copy(out, 0, this.firstStart, this.firstEnd);
    return out;
  }

  private ensure(extra: number): void {
    if (this.at + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + extra));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }
}

/**
 * The payload of one batched transfer from encoded messages (each a whole AMQP message, as
 * `encodeUpstreamMessage` writes them); send it with
 * `sender.send(payload, undefined, BATCHED_MESSAGE_FORMAT)`.
 */
export function encodeBatch(parts: readonly Buffer[]): Buffer {
  let size = EMPTY_HEAD.length;
  for (const part of parts) size += part.length + BATCH_SECTION_OVERHEAD;
  const builder = new BatchBuilder(size);
  for (const part of parts) builder.add(part, part.length);
  return builder.finish();
}

const rheaDecode = (bytes: Buffer): Message => rhea.message.decode(bytes) as unknown as Message;

export type BatchDecode = { readonly ok: true; readonly messages: Message[] } | { readonly ok: false; readonly reason: string };

interface BodySection {
  readonly typecode: number;
  readonly content: unknown;
  readonly multiple?: boolean;
}

/**
 * The messages of a batched transfer, in order, or why it is malformed: not an AMQP message, a
 * body that is not Data sections, no message in it, or a section that is not an AMQP message
 * with a body. All or nothing: the caller stores none of a malformed batch. `decode` is rhea's
 * message decoder or one that gives the same (the AMQP transport passes its fast path).
 */
export function decodeBatch(payload: Buffer, decode: (bytes: Buffer) => Message = rheaDecode): BatchDecode {
  let envelope: Message;
  try {
    envelope = decode(payload);
  } catch (error) {
    return { ok: false, reason: `the batch is not an AMQP message: ${(error as Error).message}` };
  }
  const body = envelope.body as BodySection | undefined;
  if (body === undefined || body === null || typeof body !== 'object' || body.typecode !== DATA_SECTION) return { ok: false, reason: 'the batch body is not Data sections' };
  const parts = body.multiple === true ? (body.content as unknown[]) : [body.content];
  if (parts.length === 0) return { ok: false, reason: 'the batch holds no message' };
  const messages: Message[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!Buffer.isBuffer(part) || part.length === 0) return { ok: false, reason: `section ${i} of the batch is not binary` };
    let message: Message;
    try {
      message = decode(part);
    } catch (error) {
      return { ok: false, reason: `section ${i} of the batch is not an AMQP message: ${(error as Error).message}` };
    }
    if (message.body === undefined) return { ok: false, reason: `section ${i} of the batch has no body` };
    messages.push(message);
  }
  return { ok: true, messages };
}
