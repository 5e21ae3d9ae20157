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

/**
 * The payload of one batched transfer from encoded messages (each a whole AMQP message, as
 * `encodeUpstreamMessage` writes them); send it with
 * `sender.send(payload, undefined, BATCHED_MESSAGE_FORMAT)`.
 */
export function encodeBatch(parts: readonly Buffer[]): Buffer {
  return rhea.message.encode({ body: rhea.message.data_sections(parts as Buffer[]) } as Message);
}

export type BatchDecode = { readonly ok: true; readonly messages: Message[] } | { readonly ok: false; readonly reason: string };

interface BodySection {
  readonly typecode: number;
  readonly content: unknown;
  readonly multiple?: boolean;
}

/**
 * The messages of a batched transfer, in order, or why it is malformed: not an AMQP message, a
 * body that is not Data sections, no message in it, or a section that is not an AMQP message
 * with a body. All or nothing: the caller stores none of a malformed batch.
 */
export function decodeBatch(payload: Buffer): BatchDecode {
  let envelope: Message;
  try {
    envelope = rhea.message.decode(payload) as unknown as Message;
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
      message = rhea.message.decode(part) as unknown as Message;
    } catch (error) {
      return { ok: false, reason: `section ${i} of the batch is not an AMQP message: ${(error as Error).message}` };
    }
    if (message.body === undefined) return { ok: false, reason: `section ${i} of the batch has no body` };
    messages.push(message);
  }
  return { ok: true, messages };
}
