// decodeMessage (the fast path for telemetry and module-output transfers) against rhea's decoder
// as the reference: whatever it decodes gives the same HubMessage (toHubMessage) as rhea's
// message, on generated messages and on mutated bytes; what it cannot decode it leaves to rhea,
// and it never takes bytes rhea refuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import rhea, { type Message } from 'rhea';
import { SystemProperty, type HubMessage } from '../../src/hub/message/index.js';
import { toHubMessage } from '../../src/hub/transport/amqp/amqp-message.js';
import { BATCH_SECTION_OVERHEAD, BatchBuilder, decodeBatch, encodeBatch } from '../../src/hub/amqp-common/index.js';
import { decodeFastFirst, decodeMessage } from '../../src/hub/transport/amqp/message-decoder.js';
import { pick, prng } from '../native/implementations.js';

const types = (rhea as unknown as { types: Record<string, (v: unknown) => unknown> }).types;
const CHARS = ['a', 'Z', '0', '-', ' ', 'é', '€', '😀', '1'];
const SENDERS = [
  { deviceId: 'edge', moduleId: 'sensor' },
  { deviceId: 'dev1', moduleId: undefined },
];

function rheaDecode(bytes: Buffer): Message {
  return rhea.message.decode(bytes) as unknown as Message;
}

function text(random: () => number): string {
  return Array.from({ length: pick(random, [0, 1, 6, 300]) }, () => pick(random, CHARS)).join('');
}

function anyValue(random: () => number): unknown {
  return pick(random, [
    () => text(random),
    () => pick(random, [0, 1, 200, 255, 256, 70_000, -5, -300, 2 ** 40, -(2 ** 40), 1.5]),
    () => random() < 0.5,
    () => null,
    () => new Date(pick(random, [0, 1_764_800_000_123, -1000])),
    () => Buffer.from(text(random)),
    () => types.wrap_symbol!('sym-' + String(Math.floor(random() * 9))),
    () => types.wrap_uuid!(Buffer.alloc(16, 7)),
    () => types.wrap_ubyte!(200),
    () => types.wrap_ushort!(60_000),
    () => types.wrap_byte!(-3),
    () => types.wrap_short!(-300),
    () => types.wrap_long!(-7),
    () => types.wrap_ulong!(9),
    () => [1, 'a'],
  ])();
}

function anyId(random: () => number): unknown {
  return pick(random, [() => text(random), () => Buffer.alloc(pick(random, [3, 16]), 9), () => 42, () => types.wrap_uuid!(Buffer.alloc(16, 1))])();
}

function anyMap(random: () => number, keys: readonly string[]): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  const count = pick(random, [0, 1, 3, 8]);
  for (let i = 0; i < count; i++) map[pick(random, [...keys, text(random), String(i)])] = anyValue(random);
  return map;
}

function randomMessage(random: () => number): Message {
  const message: Record<string, unknown> = {};
  const maybe = (name: string, value: () => unknown) => {
    if (random() < 0.4) message[name] = value();
  };
  maybe('durable', () => random() < 0.5);
  maybe('ttl', () => 5000);
  maybe('message_id', () => anyId(random));
  maybe('correlation_id', () => anyId(random));
  maybe('user_id', () => Buffer.from(text(random)));
  maybe('to', () => text(random));
  maybe('subject', () => text(random));
  maybe('content_type', () => pick(random, ['application/json', 'text/plain', 'x'.repeat(300)]));
  maybe('content_encoding', () => 'utf-8');
  maybe('absolute_expiry_time', () => new Date(pick(random, [1_764_800_000_000, 0])));
  maybe('creation_time', () => new Date(5));
  maybe('group_sequence', () => 3);
  maybe('application_properties', () => anyMap(random, ['iothub-outputname', 'iothub-message-schema', 'iothub-creation-time-utc', 'iothub-operation', 'color']));
  maybe('message_annotations', () => anyMap(random, ['iothub-interface-id', 'dt-subject', 'x-opt-other']));
  maybe('delivery_annotations', () => anyMap(random, ['x-opt-d']));
  maybe('footer', () => anyMap(random, ['f']));
  const bodies = [
    () => rhea.message.data_section(Buffer.from(text(random))),
    () => rhea.message.data_sections([Buffer.from('ab'), Buffer.from(text(random)), Buffer.alloc(300, 1)]),
    () => text(random),
    () => Buffer.from('raw'),
    () => 17,
    () => rhea.message.sequence_section([1, 2]),
    () => undefined,
  ];
  const body = pick(random, bodies)();
  if (body !== undefined) message.body = body;
  return message as unknown as Message;
}

/** The HubMessage as text, without the one field made fresh per call (its edge message id). */
function hubText(message: HubMessage): string {
  const system = { ...message.systemProperties };
  assert.match(system[SystemProperty.EdgeMessageId] ?? '', /^[0-9a-f-]{36}$/);
  delete system[SystemProperty.EdgeMessageId];
  return JSON.stringify({ ...message, body: Buffer.from(message.body).toString('hex'), systemProperties: system, keys: Object.keys(message.properties) });
}

function outcome(decode: () => Message | undefined, sender: (typeof SENDERS)[number]): string {
  try {
    const message = decode();
    return message === undefined ? 'not decoded' : hubText(toHubMessage(sender, message, 1_764_800_000_000, 'edge'));
  } catch (error) {
    return `throws ${(error as Error).message}`;
  }
}

function mutate(random: () => number, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  switch (Math.floor(random() * 3)) {
    case 0:
      out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      return out;
    case 1:
      return out.subarray(0, Math.floor(random() * out.length));
    default:
      return Buffer.concat([out, Buffer.from([Math.floor(random() * 256)])]);
  }
}

describe('AMQP message decoder against rhea', () => {
  it('gives the HubMessage rhea gives, on 4000 generated messages, and takes the common ones', () => {
    const random = prng(1717);
    let fast = 0;
    for (let i = 0; i < 4_000; i++) {
      const bytes = rhea.message.encode(randomMessage(random));
      const sender = pick(random, SENDERS);
      const expected = outcome(() => rheaDecode(bytes), sender);
      const actual = decodeMessage(bytes);
      if (actual === undefined) continue;
      fast++;
      assert.equal(outcome(() => actual, sender), expected, `message ${i}: ${bytes.toString('hex')}`);
    }
    // Most generated messages hold some value off the fast path (uuid, long, list): a share is enough.
    assert.ok(fast > 400, `only ${fast} of 4000 took the fast path`);
  });

  it('never takes bytes rhea refuses, and agrees with rhea on mutated messages it takes', (t) => {
    const random = prng(99);
    let taken = 0;
    // rhea warns on the console for each section it does not recognise; thousands here.
    const warn = console.warn;
    console.warn = () => undefined;
    t.after(() => (console.warn = warn));
    for (let i = 0; i < 6_000; i++) {
      const bytes = mutate(random, rhea.message.encode(randomMessage(random)));
      const sender = pick(random, SENDERS);
      const expected = outcome(() => rheaDecode(bytes), sender);
      let actual: Message | undefined;
      assert.doesNotThrow(() => (actual = decodeMessage(bytes)), `bytes ${bytes.toString('hex')}`);
      if (actual === undefined) continue;
      taken++;
      assert.equal(outcome(() => actual, sender), expected, `mutated ${i}: ${bytes.toString('hex')}`);
    }
    assert.ok(taken > 100, `only ${taken} mutated messages took the fast path`);
  });

  it('takes what the SDKs and the load generator send: string properties, annotations, one Data section', () => {
    const message = {
      message_id: 'm-1',
      correlation_id: 'c-1',
      content_type: 'application/json',
      content_encoding: 'utf-8',
      durable: true,
      application_properties: { 'iothub-outputname': 'out1', color: 'blue', seq: 7 },
      message_annotations: { 'iothub-interface-id': 'dtmi:x;1' },
      body: rhea.message.data_section(Buffer.from('{"t":1}')),
    } as unknown as Message;
    const bytes = rhea.message.encode(message);
    const decoded = decodeMessage(bytes);
    assert.ok(decoded !== undefined);
    const hub = toHubMessage(SENDERS[0]!, decoded, 1_764_800_000_000, 'edge');
    assert.equal(hub.source, '/messages/modules/sensor/outputs/out1/');
    assert.deepEqual(hub.properties, { color: 'blue', seq: '7' });
    assert.equal(hub.systemProperties[SystemProperty.InterfaceId], 'dtmi:x;1');
    assert.equal(Buffer.from(hub.body).toString(), '{"t":1}');
    assert.equal(hubText(hub), hubText(toHubMessage(SENDERS[0]!, rheaDecode(bytes), 1_764_800_000_000, 'edge')));
  });
});

describe('batched messages (0x80013700) against rhea', () => {
  it("encodeBatch writes rhea's bytes for a body of Data sections, 500 generated batches", () => {
    const random = prng(3700);
    for (let i = 0; i < 500; i++) {
      const parts = Array.from({ length: pick(random, [1, 2, 10, 40]) }, () => Buffer.alloc(pick(random, [0, 1, 200, 255, 256, 70_000]), Math.floor(random() * 256)));
      const expected = rhea.message.encode({ body: rhea.message.data_sections(parts) } as unknown as Message);
      assert.equal(encodeBatch(parts).toString('hex'), expected.toString('hex'), `batch ${i}`);
    }
  });

  it("BatchBuilder reused across batches writes rhea's bytes, refuses a part past the bound (the first always goes in), and gives a lone part back as it was", () => {
    const random = prng(3701);
    const builder = new BatchBuilder(16);
    for (let i = 0; i < 300; i++) {
      const parts = Array.from({ length: pick(random, [1, 2, 10]) }, () => Buffer.alloc(pick(random, [0, 1, 255, 256, 5_000]), Math.floor(random() * 256)));
      const maxBytes = pick(random, [Number.MAX_SAFE_INTEGER, 300, 6_000]);
      builder.reset();
      const taken: Buffer[] = [];
      for (const part of parts) {
        // Scratch-like input: the part at the front of a larger buffer, `length` saying where it ends.
        const scratch = Buffer.concat([part, Buffer.alloc(7, 0xee)]);
        const fits = taken.length === 0 || taken.reduce((sum, p) => sum + p.length + BATCH_SECTION_OVERHEAD, 0) + part.length + BATCH_SECTION_OVERHEAD <= maxBytes;
        assert.equal(builder.add(scratch, part.length, maxBytes), fits, `batch ${i}, part ${taken.length}`);
        if (!fits) break;
        taken.push(part);
      }
      assert.equal(builder.parts, taken.length);
      const expected = rhea.message.encode({ body: rhea.message.data_sections(taken) } as unknown as Message);
      assert.equal(builder.finish().toString('hex'), expected.toString('hex'), `batch ${i}`);
      assert.equal(builder.onlyPart().toString('hex'), taken[0]!.toString('hex'));
    }
  });

  it('decodeBatch with the fast path gives what it gives with rhea, messages and refusals, whole and mutated', (t) => {
    const random = prng(5670);
    const warn = console.warn;
    console.warn = () => undefined;
    t.after(() => (console.warn = warn));
    const summary = (decode: () => ReturnType<typeof decodeBatch>, sender: (typeof SENDERS)[number]): string => {
      const result = decode();
      return result.ok ? result.messages.map((m) => outcome(() => m, sender)).join('\n') : `refused: ${result.reason}`;
    };
    let whole = 0;
    for (let i = 0; i < 1_500; i++) {
      const messages = Array.from({ length: pick(random, [1, 3, 10]) }, () => randomMessage(random));
      let payload = encodeBatch(messages.map((m) => rhea.message.encode(m)));
      if (random() < 0.3) payload = mutate(random, payload);
      else whole++;
      const sender = pick(random, SENDERS);
      assert.equal(summary(() => decodeBatch(payload, decodeFastFirst), sender), summary(() => decodeBatch(payload), sender), `batch ${i}: ${payload.toString('hex')}`);
    }
    assert.ok(whole > 900);
  });
});
