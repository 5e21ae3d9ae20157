// The hub's rhea connections are made by createConnection (src/hub/amqp-common/shared-connection.ts)
// instead of rhea's constructor: the same fields and the same reads of the peer's open and close,
// the getters on the prototype instead of eleven closures per connection, and fast objects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { CONNECTION_ALIASES, createConnection } from '../../src/hub/amqp-common/shared-connection.js';
import { fastRounds, own } from './fast-objects.js';

const MODULE = new URL('../../src/hub/amqp-common/shared-connection.js', import.meta.url).href;

type AnyObject = Record<string, unknown>;

/** The hub's options (amqp-connection.ts), and more. */
const OPTIONS: AnyObject[] = [
  { container_id: 'edge-hub', max_frame_size: 65_536, idle_time_out: 240_000, tcp_no_delay: true, reconnect: false, autoaccept: false, credit_window: 0 },
  { container_id: 'edge-hub', max_frame_size: 65_536, tcp_no_delay: true, reconnect: false, autoaccept: false, credit_window: 0 },
  { reconnect: false, transport: 'tls', host: 'example.net', port: 5671, properties: { p: 1 }, channel_max: 7, session_buffer_size: 10 },
];

/** How many of `count` connections V8 keeps with fast properties, in a child process. */
function fastConnections(count: number, shared: boolean): number {
  const options = "{ reconnect: false, container_id: 'c' }";
  if (!shared) return fastRounds(count, '', `[container.create_connection(${options})]`);
  return fastRounds(count, `const { createConnection } = await import(${JSON.stringify(MODULE)});`, `[createConnection(container, ${options})]`);
}

describe('shared connection accessors', () => {
  it("makes what rhea's own constructor makes, and reads the peer's open and close the same way", () => {
    for (const options of OPTIONS) {
      const container = rhea.create_container({ id: 'the-container' });
      const theirs = container.create_connection({ ...options } as never) as unknown as AnyObject;
      const ours = createConnection(container, { ...options }) as unknown as AnyObject;
      assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs));
      const a = own(theirs);
      const b = own(ours);
      assert.deepEqual(Object.keys(b.data), Object.keys(a.data), 'the same fields, in the same order');
      assert.deepEqual(b.accessors, []);
      assert.deepEqual(a.accessors.sort(), [...CONNECTION_ALIASES, 'error'].sort(), "rhea's getters are the ones provided on the prototype");
      for (const name of a.accessors) assert.equal(typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ours), name)?.get, 'function', name);
      for (const name of Object.keys(a.data)) {
        const mine = b.data[name] as AnyObject;
        const theirsValue = a.data[name] as AnyObject;
        if (name === 'options') {
          assert.deepEqual(Object.keys(mine), Object.keys(theirsValue));
          for (const key of Object.keys(theirsValue)) {
            if (key === 'id') assert.match(String(mine[key]), /^connection-\d+$/);
            else if (key === 'connection_details') {
              const details = (mine[key] as () => AnyObject).call(mine);
              const expected = (theirsValue[key] as () => AnyObject)();
              assert.deepEqual({ ...details, options: undefined }, { ...expected, options: undefined });
              assert.equal(details['options'], mine);
            } else assert.deepEqual(mine[key], theirsValue[key], `options.${key}`);
          }
        } else if (name === 'amqp_transport' || name === 'transport') {
          assert.equal(mine['handler'], ours);
          assert.equal(mine['identifier'], (ours['options'] as AnyObject)['id']);
          assert.deepEqual({ ...mine, handler: undefined, identifier: undefined }, { ...theirsValue, handler: undefined, identifier: undefined });
        } else if (name === 'session_policy') assert.equal(typeof mine['get_session'], 'function');
        else assert.deepEqual(mine, theirsValue, name);
      }
      assert.equal(ours['transport'], ours['amqp_transport']);
      for (const name of [...CONNECTION_ALIASES, 'error']) assert.equal(ours[name], theirs[name], `${name} before the peer's open`);
      const open = rhea.types.wrap_map({});
      const peerOpen = { container_id: 'peer', hostname: 'h', max_frame_size: 512, channel_max: 3, idle_time_out: 1000, outgoing_locales: 'en', incoming_locales: 'fr', offered_capabilities: ['a'], desired_capabilities: ['b'], properties: open };
      const close = { error: { condition: 'amqp:connection:forced' } };
      (theirs['remote'] as AnyObject)['open'] = (ours['remote'] as AnyObject)['open'] = peerOpen;
      (theirs['remote'] as AnyObject)['close'] = (ours['remote'] as AnyObject)['close'] = close;
      for (const name of [...CONNECTION_ALIASES, 'error']) assert.equal(ours[name], theirs[name], name);
      assert.equal(ours['error'], close.error);
    }
  });

  it("keeps rhea's session policy: one session on first use, a new one after it closed", () => {
    const connection = createConnection(rhea.create_container(), { reconnect: false }) as unknown as { session_policy: { get_session(): { close(): void; on_end(frame: unknown): void; observers: { emit(event: string): boolean } } } };
    const first = connection.session_policy.get_session();
    assert.equal(connection.session_policy.get_session(), first);
    first.observers.emit('session_close');
    const second = connection.session_policy.get_session();
    assert.notEqual(second, first);
    assert.equal(connection.session_policy.get_session(), second);
  });

  it('refuses a connection that would reconnect (rhea builds its back-off then)', () => {
    assert.throws(() => createConnection(rhea.create_container(), {}), TypeError);
  });

  it('keeps connections as fast objects, where rhea alone keeps none after the first', () => {
    assert.ok(fastConnections(300, false) <= 2, 'rhea alone: every connection after the first is a dictionary');
    assert.equal(fastConnections(300, true), 300);
  });
});
