// fast-frames.ts against rhea's own codec: the transfers, dispositions and flows it writes are
// rhea's bytes (through the hub's encodeFrame and through rhea's write_frame), and what it reads
// has rhea's field values, for generated fields in any order and for encodings other clients use
// (list8, the long boolean form); what it does not handle falls back to rhea, never misreads.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { decodeFastFrame, FastPerformative, installFastFrames } from '../../src/hub/amqp-common/fast-frames.js';
import { encodeFrame } from '../../src/hub/amqp-common/frame-writer.js';
import { pick, prng } from '../native/implementations.js';

type Fields = Record<string, unknown>;
interface Frame {
  type: number;
  channel: number;
  performative?: unknown;
  payload?: Buffer;
}
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as {
  transfer(fields: Fields): unknown;
  disposition(fields: Fields): unknown;
  flow(fields: Fields): unknown;
  attach(fields: Fields): unknown;
  read_frame(buffer: Buffer): Frame;
  write_frame(frame: unknown): Buffer;
  amqp_frame(channel: number, performative?: unknown, payload?: Buffer): Frame;
};
const message = rhea.message as unknown as Record<'accepted' | 'released', () => { described(): unknown }> & {
  rejected(fields: unknown): { described(): unknown };
  modified(fields: unknown): { described(): unknown };
};

// rhea's originals, taken before the fast ones replace them.
const original = { transfer: frames.transfer, disposition: frames.disposition, flow: frames.flow, read_frame: frames.read_frame };
installFastFrames();

const KINDS = {
  transfer: ['handle', 'delivery_id', 'delivery_tag', 'message_format', 'settled', 'more', 'rcv_settle_mode', 'resume', 'aborted', 'batchable'],
  disposition: ['role', 'first', 'last', 'settled', 'state', 'batchable'],
  flow: ['next_incoming_id', 'incoming_window', 'next_outgoing_id', 'outgoing_window', 'handle', 'delivery_count', 'link_credit', 'available', 'drain', 'echo'],
} as const;
type Kind = keyof typeof KINDS;
const MANDATORY: Record<Kind, readonly string[]> = { transfer: ['handle'], disposition: ['role', 'first'], flow: ['incoming_window', 'next_outgoing_id', 'outgoing_window'] };
const BOOLEANS = new Set(['settled', 'more', 'resume', 'aborted', 'batchable', 'role', 'drain', 'echo']);

function randomValue(random: () => number, name: string): unknown {
  if (random() < 0.1) return pick(random, [null, undefined]);
  if (BOOLEANS.has(name)) return pick(random, [true, false, true, false, 1, 0, 'yes']);
  if (name === 'delivery_tag') return Buffer.alloc(pick(random, [0, 1, 8, 255, 256, 1_000]), Math.floor(random() * 256));
  if (name === 'rcv_settle_mode') return pick(random, [0, 1]);
  if (name === 'state') return pick(random, [message.accepted(), message.released(), message.rejected({ error: { condition: 'amqp:internal-error', description: 'x'.repeat(pick(random, [1, 300])) } }), message.modified({ delivery_failed: true })]).described();
  return pick(random, [0, 1, 255, 256, 65_535, 2 ** 32 - 1, Math.floor(random() * 2 ** 32)]);
}

/** Some of the kind's fields (always the mandatory ones unless `broken`), in a random order. */
function randomFields(random: () => number, kind: Kind, broken = false): Fields {
  const names = KINDS[kind].filter((name) => MANDATORY[kind].includes(name) || random() < 0.5);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const fields: Fields = {};
  for (const name of names) fields[name] = randomValue(random, name);
  if (!broken) for (const name of MANDATORY[kind]) fields[name] ??= 1;
  return fields;
}

/** The bytes, or the error's message when writing throws. */
function attempt(write: () => Buffer): string {
  try {
    return write().toString('hex');
  } catch (error) {
    return `threw ${(error as Error).name}`;
  }
}

describe('AMQP fast frames against rhea', () => {
  it('writes what rhea writes: 6000 generated transfers, dispositions and flows, through encodeFrame and through rhea', () => {
    const random = prng(8883);
    let fast = 0;
    for (let i = 0; i < 6_000; i++) {
      const kind = pick(random, ['transfer', 'disposition', 'flow'] as const);
      const fields = randomFields(random, kind, random() < 0.05);
      const channel = pick(random, [0, 1, 300]);
      const payload = kind === 'transfer' && random() < 0.8 ? Buffer.alloc(pick(random, [0, 10, 70_000]), i & 0xff) : undefined;
      const performative = frames[kind](fields);
      assert.ok(performative instanceof FastPerformative, 'installed');
      const expected = attempt(() => frames.write_frame(frames.amqp_frame(channel, original[kind](fields), payload)));
      assert.equal(attempt(() => encodeFrame(frames.amqp_frame(channel, performative, payload))), expected, `frame ${i}: ${kind} ${JSON.stringify(fields)}`);
      assert.equal(attempt(() => frames.write_frame(frames.amqp_frame(channel, performative, payload))), expected, `frame ${i} by rhea's writer`);
      if (!expected.startsWith('threw')) fast++;
    }
    assert.ok(fast > 5_000, `most frames were writable (${fast})`);
  });

  it("reads rhea's values from 6000 frames rhea wrote, decoding the common ones itself", () => {
    const random = prng(5671);
    let decodedHere = 0;
    let common = 0;
    for (let i = 0; i < 6_000; i++) {
      const kind = pick(random, ['transfer', 'disposition', 'flow'] as const);
      const channel = pick(random, [0, 1, 300]);
      const payload = kind === 'transfer' && random() < 0.8 ? Buffer.alloc(pick(random, [1, 10, 70_000]), i & 0xff) : undefined;
      const bytes = frames.write_frame(frames.amqp_frame(channel, original[kind](randomFields(random, kind)), payload));
      const reference = original.read_frame(bytes);
      const here = decodeFastFrame(bytes);
      const read = frames.read_frame(bytes);
      if (here !== undefined) decodedHere++;
      if (kind !== 'disposition') common++;
      for (const frame of [here, read]) {
        if (frame === undefined) continue;
        assert.equal(frame.channel, reference.channel);
        assert.equal(frame.type, reference.type);
        assert.deepEqual(frame.payload, reference.payload, `frame ${i}: payload`);
        const ours = frame.performative as Record<string, unknown>;
        const theirs = reference.performative as Record<string, unknown>;
        for (const name of KINDS[kind]) assert.deepEqual(ours[name], theirs[name], `frame ${i}: ${kind}.${name}`);
      }
    }
    // Every generated transfer and flow has a shape it reads (no state, no properties).
    assert.ok(decodedHere >= common, `decoded here: ${decodedHere} of ${common} transfers and flows at least`);
  });

  it('reads the encodings other clients write (list8, the two-byte boolean, trailing fields left out)', () => {
    const frame = (channel: number, performative: number[], payload: number[] = []) => {
      const body = Buffer.from([0x02, 0x00, channel >> 8, channel & 0xff, ...performative, ...payload]);
      const size = Buffer.alloc(4);
      size.writeUInt32BE(body.length + 4);
      return Buffer.concat([size, body]);
    };
    /** A performative: descriptor `00 53 code`, then a list8 of `count` items. */
    const list8 = (code: number, count: number, items: number[]) => [0x00, 0x53, code, 0xc0, items.length + 1, count, ...items];
    const cases = [
      // transfer: handle smalluint 1, delivery-id uint0, tag vbin8 "ab", format uint0, settled 0x56 00, more false
      frame(1, list8(0x14, 6, [0x52, 0x01, 0x43, 0xa0, 0x02, 0x61, 0x62, 0x43, 0x56, 0x00, 0x42]), [0x00, 0x53, 0x75, 0xa0, 0x01, 0x78]),
      // transfer: only the handle, the rest of a multi-frame delivery
      frame(0, list8(0x14, 1, [0x43]), [0x01, 0x02]),
      // disposition: role true, first 7, last null, settled 0x56 01, state accepted
      frame(0, list8(0x15, 5, [0x41, 0x52, 0x07, 0x40, 0x56, 0x01, 0x00, 0x53, 0x24, 0x45])),
      // disposition: first as a uint, state accepted as a list8 of 0, then batchable
      frame(2, list8(0x15, 6, [0x42, 0x70, 0x00, 0x01, 0x00, 0x00, 0x43, 0x41, 0x00, 0x53, 0x24, 0xc0, 0x01, 0x00, 0x42])),
      // disposition: state released
      frame(0, list8(0x15, 5, [0x41, 0x43, 0x43, 0x41, 0x00, 0x53, 0x26, 0x45])),
      // flow: the session's four fields
      frame(0, list8(0x13, 4, [0x43, 0x70, 0x00, 0x00, 0x08, 0x00, 0x43, 0x52, 0xff])),
      // flow: list0 (mandatory fields missing: rhea reads it anyway)
      frame(0, [0x00, 0x53, 0x13, 0x45]),
    ];
    for (const [i, bytes] of cases.entries()) {
      const reference = original.read_frame(bytes);
      const here = decodeFastFrame(bytes);
      assert.ok(here !== undefined, `case ${i} decoded here`);
      assert.deepEqual(here.payload, reference.payload, `case ${i}: payload`);
      const kind = ({ transfer: 'transfer', disposition: 'disposition', flow: 'flow' } as const)[(reference.performative as { constructor: { toString(): string } }).constructor.toString().split('#')[0] as Kind];
      for (const name of KINDS[kind]) {
        assert.deepEqual((here.performative as Fields)[name], (reference.performative as Fields)[name], `case ${i}: ${kind}.${name}`);
      }
    }
  });

  it("leaves to rhea what it does not handle, and never misreads a malformed frame", () => {
    const withHeader = (performative: number[]) => {
      const out = Buffer.from([0, 0, 0, 0, 0x02, 0x00, 0x00, 0x00, ...performative]);
      out.writeUInt32BE(out.length);
      return out;
    };
    const handedOn = [
      // a transfer with a delivery state (rhea cannot write one)
      withHeader([0x00, 0x53, 0x14, 0xc0, 0x0c, 0x08, 0x43, 0x43, 0x40, 0x40, 0x40, 0x40, 0x40, 0x00, 0x53, 0x24, 0x45]),
      // a flow with properties
      frames.write_frame(frames.amqp_frame(0, original.flow({ incoming_window: 1, next_outgoing_id: 0, outgoing_window: 1, properties: { a: 1 } }))),
      // an attach, and an empty frame (a heartbeat)
      frames.write_frame(frames.amqp_frame(0, frames.attach({ name: 'x', handle: 1, role: false }))),
      frames.write_frame(frames.amqp_frame(0)),
      // the handle as a ulong, which rhea accepts
      withHeader([0x00, 0x53, 0x14, 0xc0, 0x03, 0x01, 0x53, 0x01]),
      // a list that claims more bytes than the frame has
      withHeader([0x00, 0x53, 0x14, 0xc0, 0x20, 0x01, 0x43]),
      // a list whose size and items disagree
      withHeader([0x00, 0x53, 0x14, 0xc0, 0x04, 0x01, 0x43, 0x43, 0x43]),
      // more fields than a transfer has
      withHeader([0x00, 0x53, 0x15, 0xc0, 0x08, 0x07, 0x41, 0x43, 0x40, 0x40, 0x40, 0x40, 0x40]),
      // a uint cut short
      withHeader([0x00, 0x53, 0x14, 0xc0, 0x03, 0x01, 0x70, 0x00]),
      // an extended header (data offset 3)
      Buffer.from([0, 0, 0, 16, 0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0x00, 0x53, 0x17, 0x45]),
      // a SASL frame
      Buffer.from([0, 0, 0, 12, 0x02, 0x01, 0x00, 0x00, 0x00, 0x53, 0x44, 0x45]),
    ];
    for (const [i, bytes] of handedOn.entries()) assert.equal(decodeFastFrame(bytes), undefined, `case ${i} is rhea's`);
  });
});
