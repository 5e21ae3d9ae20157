// encodeModuleInput and encodeUpstreamMessage (the hand-written encoders) against rhea as the
// reference: on generated hub messages their bytes are exactly rhea's
// `message.encode(moduleInputMessage(...))` and `message.encode(upstreamMessage(...))`, and they
// decode (with rhea) to the same message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { SystemProperty, type HubMessage } from '../../src/hub/message/index.js';
import { moduleInputMessage } from '../../src/hub/transport/amqp/amqp-message.js';
import { encodeModuleInput, encodeUpstreamMessage } from '../../src/hub/transport/amqp/module-input-encoder.js';
import { upstreamMessage } from '../../src/hub/upstream/upstream-message.js';
import { pick, prng } from '../native/implementations.js';

const CHARS = ['a', 'Z', '0', '-', ' ', 'é', '€', '😀', '"', '1'];

function text(random: () => number, lengths: readonly number[]): string {
  return Array.from({ length: pick(random, lengths) }, () => pick(random, CHARS)).join('');
}

/** ASCII only: rhea writes a binary user-id's length from its character count. */
function ascii(random: () => number, lengths: readonly number[]): string {
  return Array.from({ length: pick(random, lengths) }, () => pick(random, ['a', 'b', '7', '-'])).join('');
}

const LENGTHS = [0, 1, 5, 40, 86, 255, 256, 300];

function randomMessage(random: () => number): HubMessage {
  const system: Record<string, string> = {};
  const maybe = (name: string, value: () => string) => {
    if (random() < 0.5) system[name] = value();
  };
  maybe(SystemProperty.MessageId, () => text(random, LENGTHS));
  maybe(SystemProperty.CorrelationId, () => text(random, LENGTHS));
  maybe(SystemProperty.To, () => text(random, LENGTHS));
  maybe(SystemProperty.UserId, () => ascii(random, LENGTHS));
  maybe(SystemProperty.ContentType, () => pick(random, ['application/json', 'text/plain', '', 'x'.repeat(300)]));
  maybe(SystemProperty.ContentEncoding, () => pick(random, ['utf-8', 'utf-16', '']));
  maybe(SystemProperty.AbsoluteExpiryTime, () => pick(random, ['2030-01-02T03:04:05.678Z', 'not a date', '1970-01-01T00:00:00.000Z']));
  maybe(SystemProperty.MessageSchema, () => text(random, LENGTHS));
  maybe(SystemProperty.CreationTime, () => '2026-12-04T06:00:00.000Z');
  maybe(SystemProperty.Operation, () => 'create');
  maybe(SystemProperty.OutputName, () => 'out1');
  maybe(SystemProperty.ConnectionDeviceId, () => text(random, [1, 8, 128]));
  maybe(SystemProperty.ConnectionModuleId, () => text(random, [1, 8, 128]));
  maybe(SystemProperty.ComponentName, () => text(random, [1, 8]));
  maybe(SystemProperty.InterfaceId, () => pick(random, ['dtmi:com:example:Thermostat;1', text(random, [1, 300])]));
  maybe(SystemProperty.EdgeMessageId, () => 'e');
  const properties: Record<string, string | null> = {};
  const count = pick(random, [0, 1, 3, 20]);
  for (let i = 0; i < count; i++) {
    const key = pick(random, [() => text(random, [1, 5, 300]), () => String(i), () => '__proto__']);
    Object.defineProperty(properties, key(), { value: random() < 0.2 ? null : text(random, LENGTHS), enumerable: true, writable: true, configurable: true });
  }
  return {
    source: '/messages/modules/m/outputs/out1/',
    body: Buffer.alloc(pick(random, [0, 1, 255, 256, 4_000, 70_000]), Math.floor(random() * 256)),
    properties,
    systemProperties: system,
    enqueuedAtMs: pick(random, [0, 1_764_800_000_123, Math.floor(random() * 4_000_000_000_000)]),
  };
}

describe('AMQP module-input encoder against rhea', () => {
  it('writes the bytes rhea writes, for 3000 generated messages', () => {
    const random = prng(17);
    for (let i = 0; i < 3_000; i++) {
      const message = randomMessage(random);
      const input = pick(random, ['input1', 'in', text(random, [1, 40, 300])]);
      const expected = rhea.message.encode(moduleInputMessage(input, message));
      const actual = encodeModuleInput(input, message);
      assert.equal(actual.toString('hex'), expected.toString('hex'), `message ${i}: ${JSON.stringify({ ...message, body: message.body.length })}`);
    }
  });

  it('decodes (with rhea) to the module input, annotations, properties and body included', () => {
    const message: HubMessage = {
      source: '/messages/modules/m/outputs/out1/',
      body: Buffer.from('{"t":21.5}'),
      properties: { color: 'blue', empty: null },
      systemProperties: {
        [SystemProperty.MessageId]: 'm-1',
        [SystemProperty.CorrelationId]: 'c-1',
        [SystemProperty.ContentType]: 'application/json',
        [SystemProperty.ConnectionDeviceId]: 'edge',
        [SystemProperty.ConnectionModuleId]: 'sensor',
        [SystemProperty.MessageSchema]: 'v1',
        [SystemProperty.OutputName]: 'out1',
      },
      enqueuedAtMs: 1_764_800_000_123,
    };
    const decoded = rhea.message.decode(encodeModuleInput('input1', message));
    assert.equal(decoded.message_id, 'm-1');
    assert.equal(decoded.correlation_id, 'c-1');
    assert.equal(decoded.content_type, 'application/json');
    assert.deepEqual(decoded.application_properties, { color: 'blue', empty: null, 'iothub-message-schema': 'v1' });
    const annotations = decoded.message_annotations as Record<string, unknown>;
    assert.equal(annotations['x-opt-input-name'], 'input1');
    assert.equal(annotations['iothub-connection-device-id'], 'edge');
    assert.equal(annotations['iothub-connection-module-id'], 'sensor');
    assert.equal((annotations['iothub-enqueuedtime'] as Date).getTime(), 1_764_800_000_123);
    assert.equal((decoded.body as { content: Buffer }).content.toString(), '{"t":21.5}');
  });

  it('is not disturbed by a large message before a small one (the scratch buffer grows and is reused)', () => {
    const big: HubMessage = { source: '/messages/', body: Buffer.alloc(300_000, 1), properties: {}, systemProperties: {}, enqueuedAtMs: 5 };
    const small: HubMessage = { source: '/messages/', body: Buffer.from('x'), properties: { a: 'b' }, systemProperties: {}, enqueuedAtMs: 6 };
    const first = encodeModuleInput('i', big);
    const second = encodeModuleInput('i', small);
    assert.equal(first.toString('hex'), rhea.message.encode(moduleInputMessage('i', big)).toString('hex'));
    assert.equal(second.toString('hex'), rhea.message.encode(moduleInputMessage('i', small)).toString('hex'));
  });
});

describe('AMQP upstream encoder against rhea', () => {
  it('writes the bytes rhea writes for upstreamMessage, for 3000 generated messages', () => {
    const random = prng(23);
    for (let i = 0; i < 3_000; i++) {
      const message = randomMessage(random);
      const expected = rhea.message.encode(upstreamMessage(message));
      const actual = encodeUpstreamMessage(message);
      assert.equal(actual.toString('hex'), expected.toString('hex'), `message ${i}: ${JSON.stringify({ ...message, body: message.body.length })}`);
    }
  });

  it('decodes (with rhea) to the telemetry the parent reads: annotations only when set, the output name as an application property', () => {
    const message: HubMessage = {
      source: '/messages/modules/m/outputs/out1/',
      body: Buffer.from('{"t":21.5}'),
      properties: { color: 'blue' },
      systemProperties: { [SystemProperty.MessageId]: 'm-1', [SystemProperty.OutputName]: 'out1', [SystemProperty.ComponentName]: 'thermostat1', [SystemProperty.ConnectionDeviceId]: 'edge' },
      enqueuedAtMs: 1_764_800_000_123,
    };
    const decoded = rhea.message.decode(encodeUpstreamMessage(message));
    assert.equal(decoded.message_id, 'm-1');
    assert.deepEqual(decoded.application_properties, { color: 'blue', 'iothub-outputname': 'out1' });
    assert.deepEqual(decoded.message_annotations, { 'dt-subject': 'thermostat1' });
    const plain = rhea.message.decode(encodeUpstreamMessage({ ...message, systemProperties: { [SystemProperty.MessageId]: 'm-2' } }));
    assert.equal(plain.message_annotations, undefined, 'no annotations section when none is set');
    // Interleaved with module inputs: the shared scratch buffer carries nothing over.
    encodeModuleInput('i', { ...message, body: Buffer.alloc(100_000, 7) });
    assert.equal(encodeUpstreamMessage(message).toString('hex'), rhea.message.encode(upstreamMessage(message)).toString('hex'));
  });
});
