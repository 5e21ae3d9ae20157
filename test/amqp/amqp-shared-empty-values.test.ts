// The performatives rhea keeps per connection share one frozen instance of each value-less typed
// value (null, true, false, zero, the empty list) instead of a typed object each
// (src/hub/amqp-common/shared-empty-values.ts): the same bytes written and the same fields read.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { encodeFrame } from '../../src/hub/amqp-common/frame-writer.js';
import { shareEmptyValues, shareEmptyValuesIn } from '../../src/hub/amqp-common/shared-empty-values.js';

const require = createRequire(import.meta.url);
type Composite = Record<string, unknown> & { value: unknown[] };
const frames = require('rhea/lib/frames.js') as Record<string, (fields: Record<string, unknown>) => Composite> & {
  read_frame(buffer: Buffer): { performative: Composite };
};
const terminus = require('rhea/lib/terminus.js') as { source(fields: unknown): { described(): unknown }; target(fields: unknown): { described(): unknown }; unwrap(field: unknown): Composite };

function bytesOf(performative: unknown): Buffer {
  return encodeFrame({ type: 0, channel: 1, performative });
}

/** Every field of a composite as rhea's getters read it. */
function fieldsOf(composite: Composite): Record<string, unknown> {
  const prototype = Object.getPrototypeOf(composite) as object;
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(prototype)) {
    if (typeof Object.getOwnPropertyDescriptor(prototype, name)?.get === 'function') out[name] = composite[name];
  }
  return out;
}

/** How many typed values in `values` (and the lists inside) are frozen. */
function frozenCount(values: unknown[]): number {
  let count = 0;
  for (const value of values) {
    if (value !== null && typeof value === 'object') {
      if (Object.isFrozen(value)) count += 1;
      const inner = (value as { value?: unknown }).value;
      if (Array.isArray(inner)) count += frozenCount(inner);
    }
  }
  return count;
}

/** The hub's own performatives and, decoded from their bytes, as the peer's arrive. */
const OWN: Array<[string, () => Composite]> = [
  ['open', () => frames['open']!({ container_id: 'hub', max_frame_size: 65_536, channel_max: 0, idle_time_out: 0, properties: { a: null } })],
  ['begin', () => frames['begin']!({ remote_channel: 0, next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 4_294_967_295 })],
  ['attach', () => {
    const attach = frames['attach']!({ name: 'l', handle: 0, role: false, snd_settle_mode: 0, rcv_settle_mode: 0, initial_delivery_count: 0, max_message_size: 0 });
    attach['source'] = terminus.source({ address: '$cbs', durable: 0, dynamic: false, filter: { f: null } }).described();
    attach['target'] = terminus.target({}).described();
    attach['properties'] = { empty: [], none: null, no: false, yes: true };
    return attach;
  }],
];

describe('shared empty values', () => {
  for (const [name, make] of OWN) {
    it(`writes and reads the ${name} the same, its own and as decoded`, () => {
      const ours = make();
      const before = bytesOf(ours);
      const read = fieldsOf(ours);
      shareEmptyValues(ours);
      assert.deepEqual(bytesOf(ours), before);
      assert.deepEqual(fieldsOf(ours), read);
      assert.ok(frozenCount(ours.value) > 0, 'some values shared');
      // The peer's, decoded from the same bytes (with its source and target unwrapped, as rhea's on_attach does).
      const peer = frames.read_frame(before).performative;
      if (name === 'attach') {
        peer['source'] = terminus.unwrap(peer['source']);
        peer['target'] = terminus.unwrap(peer['target']);
      }
      const peerRead = JSON.stringify(fieldsOf(peer));
      const peerBytes = bytesOf(peer);
      shareEmptyValues(peer);
      assert.equal(JSON.stringify(fieldsOf(peer)), peerRead);
      assert.deepEqual(bytesOf(peer), peerBytes);
      assert.ok(frozenCount(peer.value) > 0, 'some decoded values shared');
    });
  }

  it('shares the typed values of a source and a target echoed from the peer, written the same', () => {
    const peer = terminus.unwrap(frames.read_frame(bytesOf(OWN[2]![1]())).performative['source']);
    const source = terminus.source(peer).described();
    const target = terminus.target({ address: 'x' }).described();
    const before = [bytesOf(frames['attach']!({ name: 'l', handle: 0, role: true, source, target }))];
    shareEmptyValuesIn([source, target]);
    assert.deepEqual([bytesOf(frames['attach']!({ name: 'l', handle: 0, role: true, source, target }))], before);
    assert.ok(frozenCount([source, target]) >= 8);
  });

  it('leaves values with a descriptor, and values that are not empty, alone; the shared ones cannot be changed', () => {
    const described = rhea.types.wrap_described(null, 0x77);
    const composite = { value: [described, rhea.types.wrap_uint(5), rhea.types.wrap_string('')] } as unknown as Composite;
    shareEmptyValues(composite);
    assert.equal(composite.value[0], described);
    assert.equal(frozenCount(composite.value), 0);
    const nulls = { value: [rhea.types.wrap(null), rhea.types.wrap(null)] } as unknown as Composite;
    shareEmptyValues(nulls);
    assert.equal(nulls.value[0], nulls.value[1]);
    assert.throws(() => {
      (nulls.value[0] as { descriptor: unknown }).descriptor = 1;
    }, TypeError);
  });
});
