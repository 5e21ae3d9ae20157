/**
 * Reading what a peer sent, in IoT Hub's AMQP dialect, whichever side we are: ids that may be
 * strings, uuids or binaries, and bodies that may be Data sections, binaries or AmqpValue strings.
 */
import rhea from 'rhea';

/** The AMQP section type code of a Data section (AMQP 1.0 section 3.2.6). */
const DATA_SECTION = 0x75;

/** An id (message-id, correlation-id) as text: a uuid as its canonical form, a binary as hex. */
export function idText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.length === 16 ? rhea.uuid_to_string(value) : value.toString('hex');
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

/** The body as bytes: a Data section (or several), a binary, or an AmqpValue string. */
export function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (typeof body === 'object') {
    const section = body as { typecode?: number; content?: unknown; multiple?: boolean };
    if (section.typecode === DATA_SECTION) {
      if (Buffer.isBuffer(section.content)) return section.content;
      if (Array.isArray(section.content)) return Buffer.concat(section.content.filter((c): c is Buffer => Buffer.isBuffer(c)));
    }
    if (section.content !== undefined) return bodyBytes(section.content);
  }
  return Buffer.from(JSON.stringify(body) ?? '', 'utf8');
}
