// rhea's sessions (and their incoming side) get their getters (`error`, `window`) from their
// prototypes instead of a closure of their own each (src/hub/amqp-common/shared-session-accessors.ts):
// the same fields and the same reads as rhea's own constructor, and sessions V8 keeps as fast objects.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { installSharedSessionAccessors } from '../../src/hub/amqp-common/shared-session-accessors.js';
import { fastRounds, own } from './fast-objects.js';

const require = createRequire(import.meta.url);
const MODULE = new URL('../../src/hub/amqp-common/shared-session-accessors.js', import.meta.url).href;

type AnyObject = Record<string, unknown>;
type Factory = (this: unknown, size?: unknown) => AnyObject;

/** rhea's own fields on `theirs`, the same on `ours` (data properties in the same order); its own getters, on our prototype instead. */
function assertSameShape(theirs: object, ours: object, skip: (name: string, a: unknown, b: unknown) => boolean): void {
  const a = own(theirs);
  const b = own(ours);
  assert.deepEqual(Object.keys(b.data), Object.keys(a.data));
  assert.deepEqual(b.accessors, []);
  for (const name of a.accessors) assert.equal(typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ours), name)?.get, 'function', `${name} on the prototype`);
  for (const name of Object.keys(a.data)) if (!skip(name, a.data[name], b.data[name])) assert.deepEqual(b.data[name], a.data[name], name);
}

function connection(): AnyObject & { local_channel_map: AnyObject } {
  return rhea.create_container().create_connection({ reconnect: false } as never) as never;
}

/** How many of `count` sessions (and their incoming sides) V8 keeps with fast properties, in a child process. */
function fastSessions(count: number, install: boolean): number {
  const setup = install ? `(await import(${JSON.stringify(MODULE)})).installSharedSessionAccessors();` : '';
  return fastRounds(count, setup, '((session) => [session, session.incoming])(container.create_connection({ reconnect: false }).create_session())');
}

describe('shared session accessors', () => {
  it("makes what rhea's own create_session makes, and reads the peer's end and the window the same way", () => {
    const Connection = require('rhea/lib/connection.js') as { prototype: { create_session: Factory } };
    const original = Connection.prototype.create_session;
    installSharedSessionAccessors();
    const replaced = Connection.prototype.create_session;
    assert.notEqual(replaced, original);
    for (const size of [undefined, 100, '300', { incoming: 10, outgoing: 20 }, { incoming: 'x' }]) {
      const theirsConnection = connection();
      const oursConnection = connection();
      // A channel in use is skipped by both.
      theirsConnection.local_channel_map[0] = oursConnection.local_channel_map[0] = {};
      const theirs = original.call(theirsConnection, size);
      const ours = replaced.call(oursConnection, size);
      assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs));
      assert.equal(ours['connection'], oursConnection);
      assert.equal(oursConnection.local_channel_map[1], ours);
      assert.equal((ours['outgoing'] as AnyObject)['connection'], oursConnection);
      assertSameShape(theirs, ours, (name, a, b) => {
        if (name === 'connection') return true;
        if (name === 'observers') return assert.ok(b instanceof EventEmitter) === undefined;
        if (name === 'outgoing') return assertSameShape(a as object, b as object, (field) => field === 'connection') === undefined;
        if (name === 'incoming') {
          assert.equal(Object.getPrototypeOf(b), Object.getPrototypeOf(a));
          assertSameShape(a as object, b as object, () => false);
          assert.equal((b as AnyObject)['window'], (a as AnyObject)['window']);
          return true;
        }
        return false;
      });
      assert.equal(ours['error'], theirs['error']);
      const end = { error: { condition: 'amqp:internal-error' } };
      (theirs['remote'] as AnyObject)['end'] = (ours['remote'] as AnyObject)['end'] = end;
      assert.equal(ours['error'], end.error);
      assert.equal(ours['error'], theirs['error']);
    }
  });

  it('keeps sessions as fast objects, where rhea alone keeps none after the first', () => {
    assert.ok(fastSessions(300, false) <= 2, 'rhea alone: every session after the first is a dictionary');
    assert.equal(fastSessions(300, true), 300);
  });
});
