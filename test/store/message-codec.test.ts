/**
 * The store's message codec: what the main thread encodes, a shard decodes unchanged (random
 * messages: ASCII, non-ASCII, lone surrogates, nulls, long strings, empty and large bodies);
 * values written in the earlier msgpackr format still decode; a truncated or unknown value is an
 * error, never a wrong message; a "__proto__" property stays data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HubMessage } from '../../src/hub/message/index.js';
import { decodeMessage, encodeMessage, encodeMessageMsgpack } from '../../src/hub/store/message-codec.js';

let seed = 0x2545f491;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const PIECES = ['a', 'Z', '9', '$', '.', '/', '=', '&', 'é', '温', '😀', '\uD800', '\uDC00', '\u0000', ' '];
let pieces = PIECES;
function text(maxLength: number): string {
  const length = Math.floor(random() * maxLength);
  let out = '';
  for (let i = 0; i < length; i++) out += random() < 0.8 ? String.fromCharCode(97 + Math.floor(random() * 26)) : pick(pieces);
  return out;
}

/** What a string becomes after a UTF-8 round trip (a lone surrogate is U+FFFD). */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

function randomMessage(): HubMessage {
  const properties: Record<string, string | null> = {};
  const systemProperties: Record<string, string> = {};
  const propertyCount = Math.floor(random() * 6);
  for (let i = 0; i < propertyCount; i++) properties[text(random() < 0.9 ? 12 : 200)] = random() < 0.2 ? null : text(random() < 0.9 ? 20 : 300);
  for (let i = 0; i < 4; i++) systemProperties[pick(['messageId', 'contentType', 'connectionDeviceId', 'edgeMessageId', text(10)])] = text(60);
  const bodyLength = pick([0, 1, 64, 256, 5000, 70_000]);
  const body = new Uint8Array(bodyLength);
  for (let i = 0; i < bodyLength; i += 7) body[i] = Math.floor(random() * 256);
  return { source: `/messages/modules/${text(10)}/outputs/${text(10)}/`, body, properties, systemProperties, enqueuedAtMs: Math.floor(random() * 2 ** 44) };
}

function expected(message: HubMessage): unknown {
  const map = (m: Readonly<Record<string, string | null>>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [utf8(k), v === null ? null : utf8(v)]));
  return { source: utf8(message.source), body: Buffer.from(message.body), properties: map(message.properties), systemProperties: map(message.systemProperties), enqueuedAtMs: message.enqueuedAtMs };
}

function actual(message: HubMessage): unknown {
  return { ...message, body: Buffer.from(message.body), properties: { ...message.properties }, systemProperties: { ...message.systemProperties } };
}

describe('message codec', () => {
  it('decodes what it encodes, for 3,000 random messages (encodings share slabs, copied out as the store does)', () => {
    const encoded: { message: HubMessage; bytes: Uint8Array }[] = [];
    for (let i = 0; i < 3_000; i++) {
      const message = randomMessage();
      encoded.push({ message, bytes: encodeMessage(message) });
    }
    // Decoded only after every message is encoded: a later encoding must not overwrite an earlier one.
    for (const { message, bytes } of encoded) {
      assert.deepEqual(actual(decodeMessage(new Uint8Array(bytes))), expected(message));
    }
  });

  it('decodes values written in the earlier msgpackr format (a store from before format 1)', () => {
    // msgpackr wrote a lone surrogate as its own three bytes (not U+FFFD): left out here.
    pieces = PIECES.filter((p) => !/[\uD800-\uDFFF]/.test(p) || p.length === 2);
    for (let i = 0; i < 500; i++) {
      const message = randomMessage();
      assert.deepEqual(actual(decodeMessage(encodeMessageMsgpack(message))), expected(message));
    }
    pieces = PIECES;
  });

  it('keeps a "__proto__" property as data', () => {
    const properties: Record<string, string | null> = {};
    Object.defineProperty(properties, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    properties['constructor'] = null;
    const decoded = decodeMessage(encodeMessage({ source: '/messages/', body: new Uint8Array(), properties, systemProperties: {}, enqueuedAtMs: 1 }));
    assert.equal(Object.getPrototypeOf(decoded.properties), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(decoded.properties, '__proto__')?.value, 'x');
    assert.equal(decoded.properties['constructor'], null);
  });

  it('refuses a truncated value at every length and an unknown format', () => {
    const bytes = Buffer.from(encodeMessage(randomMessage()));
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => decodeMessage(bytes.subarray(0, length)), /truncated|unknown message format/, `length ${length}`);
    }
    const unknown = Buffer.from(bytes);
    unknown[0] = 0x02;
    assert.throws(() => decodeMessage(unknown), /unknown message format 2/);
  });
});
