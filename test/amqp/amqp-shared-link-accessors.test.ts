// rhea's links get their getters (source, target, … and error) from their prototype instead of
// nine closures of their own each (src/hub/amqp-common/shared-link-accessors.ts): the same fields
// and the same reads as rhea's own init, and links that V8 keeps as fast objects.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import rhea from 'rhea';
import { encodeFrame } from '../../src/hub/amqp-common/frame-writer.js';
import { installSharedLinkAccessors, LINK_ALIASES, currentLinkInit } from '../../src/hub/amqp-common/shared-link-accessors.js';
import { fastRounds } from './fast-objects.js';

const require = createRequire(import.meta.url);
const MODULE = new URL('../../src/hub/amqp-common/shared-link-accessors.js', import.meta.url).href;

type AnyLink = Record<string, unknown> & { remote: Record<string, unknown>; local: Record<string, unknown> };

function ownDataProperties(link: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(link)) {
    const descriptor = Object.getOwnPropertyDescriptor(link, name)!;
    if ('value' in descriptor) out[name] = descriptor.value;
  }
  return out;
}

type AnyAttach = Record<string, unknown> & { described(): unknown };
const frames = require('rhea/lib/frames.js') as { attach(fields: Record<string, unknown>): AnyAttach };
const terminus = require('rhea/lib/terminus.js') as { source(fields: unknown): { described(): unknown }; target(fields: unknown): { described(): unknown } };
/** The attach's fields, from rhea's attach composite (its getters). */
const ATTACH_FIELDS = ((): string[] => {
  const prototype = Object.getPrototypeOf(frames.attach({})) as object;
  return Object.getOwnPropertyNames(prototype).filter((name) => typeof Object.getOwnPropertyDescriptor(prototype, name)?.get === 'function');
})();

/** The bytes of an AMQP frame carrying `performative`, as the hub writes it (rhea's writer). */
function bytesOf(performative: unknown): Buffer {
  return encodeFrame({ type: 0, channel: 3, performative });
}

/** Every field reads the same through both attaches, and both are written as the same bytes. */
function assertSameAttach(ours: AnyAttach, theirs: AnyAttach): void {
  for (const field of ATTACH_FIELDS) assert.deepEqual(ours[field], theirs[field], `attach.${field}`);
  assert.deepEqual(bytesOf(ours), bytesOf(theirs));
  assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)));
}

/** How many of `count` receivers and senders made through a session V8 keeps with fast properties, in a child process. */
function fastLinks(count: number, install: boolean): number {
  const setup = install ? `(await import(${JSON.stringify(MODULE)})).installSharedLinkAccessors();` : '';
  const make = "((session) => [session.attach_receiver({ source: { address: 'in' } }), session.attach_sender({ target: { address: 'out' } })])(container.create_connection({ reconnect: false, tcp_no_delay: false }).create_session())";
  return fastRounds(count, setup, make);
}

describe('shared link accessors', () => {
  it("sets what rhea's own link init sets, and reads the peer's attach and detach the same way", () => {
    const original = currentLinkInit();
    installSharedLinkAccessors();
    const replaced = currentLinkInit();
    assert.notEqual(replaced, original);
    const { Receiver, Sender } = require('rhea/lib/link.js') as { Receiver: { prototype: object }; Sender: { prototype: object } };
    const session = rhea.create_container().create_connection({ reconnect: false } as never).create_session() as unknown as { connection: unknown };
    for (const [Kind, isReceiver] of [[Receiver, true], [Sender, false]] as const) {
      for (const options of [undefined, { name: 'ignored', handle: 99, source: { address: 'in' }, target: { address: 'out' }, snd_settle_mode: 1, rcv_settle_mode: 0, max_message_size: 1024, properties: { k: 'v' } }]) {
        const theirs = Object.create(Kind.prototype) as AnyLink;
        const ours = Object.create(Kind.prototype) as AnyLink;
        original.call(theirs as never, session, 'link-1', 7, options, isReceiver);
        replaced.call(ours as never, session, 'link-1', 7, options, isReceiver);
        const a = ownDataProperties(theirs);
        const b = ownDataProperties(ours);
        assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
        for (const name of Object.keys(a)) {
          if (name === 'observers') assert.ok(b[name] instanceof EventEmitter);
          else if (name === 'local') {
            // The same handle and attach; the detach built on first read, the same frame, and replaceable.
            assert.equal(ours.local['handle'], theirs.local['handle']);
            assertSameAttach(ours.local['attach'] as AnyAttach, theirs.local['attach'] as AnyAttach);
            const detach = ours.local['detach'] as Record<string, unknown>;
            assert.deepEqual(detach, theirs.local['detach']);
            assert.equal(ours.local['detach'], detach, 'built once');
            detach['closed'] = false;
            assert.equal((ours.local['detach'] as Record<string, unknown>)['closed'], false);
          }
          else if (name === 'options' && options !== undefined) assert.equal(b[name], options);
          else assert.deepEqual(b[name], a[name], name);
        }
        assert.equal(ours.connection, session.connection);
        // rhea's own getters are on the instance; ours on the prototype, and none on the instance.
        for (const alias of [...LINK_ALIASES, 'error']) {
          assert.equal(typeof Object.getOwnPropertyDescriptor(theirs, alias)?.get, 'function', alias);
          assert.equal(Object.getOwnPropertyDescriptor(ours, alias), undefined, alias);
          assert.equal(ours[alias], theirs[alias], `${alias} before the peer's attach`);
        }
        const attach = { source: { address: 'peer-in' }, target: { address: 'peer-out' }, snd_settle_mode: 1, rcv_settle_mode: 1, max_message_size: 65_536, offered_capabilities: ['a'], desired_capabilities: ['b'], properties: { p: 1 } };
        const detach = { error: { condition: 'amqp:internal-error' } };
        theirs.remote.attach = ours.remote.attach = attach;
        theirs.remote.detach = ours.remote.detach = detach;
        for (const alias of [...LINK_ALIASES, 'error']) assert.equal(ours[alias], theirs[alias], alias);
        assert.equal(ours['target'], attach.target);
        assert.equal(ours['error'], detach.error);
      }
    }
  });

  it("writes and reads the attach as rhea's does after what rhea and the hub set on it", () => {
    const original = currentLinkInit();
    installSharedLinkAccessors();
    const replaced = currentLinkInit();
    const { Receiver, Sender } = require('rhea/lib/link.js') as { Receiver: { prototype: object }; Sender: { prototype: object } };
    const session = rhea.create_container().create_connection({ reconnect: false } as never).create_session() as unknown as { connection: unknown };
    const peerTerminus = { address: '/devices/d1/messages/events', durable: 1, expiry_policy: 'link-detach', capabilities: ['x'] };
    const variants: Array<[string, (attach: AnyAttach, link: AnyLink) => void]> = [
      // The hub's onReceiverOpen and onSenderOpen, and rhea's Sender.
      ['echoes the peer\'s termini, sets max-message-size', (attach) => {
        attach['target'] = terminus.target(peerTerminus).described();
        attach['source'] = terminus.source({}).described();
        attach['max_message_size'] = 262_144;
      }],
      ['initial delivery count', (attach) => (attach['initial_delivery_count'] = 0)],
      ['a large handle and an unsigned long size', (attach) => {
        attach['handle'] = 70_000;
        attach['max_message_size'] = 2 ** 40;
      }],
      ['null and undefined', (attach) => {
        attach['properties'] = undefined;
        attach['unsettled'] = null;
        attach['snd_settle_mode'] = null;
      }],
      ['capabilities, properties and unsettled', (attach) => {
        attach['offered_capabilities'] = ['com.microsoft:a', 'b'];
        attach['desired_capabilities'] = 'single';
        attach['properties'] = { 'com.microsoft:client-version': 'v1', n: 3 };
        attach['unsettled'] = { k: 'v' };
      }],
      ['a boolean field given a number', (attach) => {
        attach['incomplete_unsettled'] = 1;
        attach['role'] = 0;
      }],
    ];
    for (const [Kind, isReceiver] of [[Receiver, true], [Sender, false]] as const) {
      for (const [what, change] of variants) {
        const theirs = Object.create(Kind.prototype) as AnyLink;
        const ours = Object.create(Kind.prototype) as AnyLink;
        const options = { source: { address: 'in' }, snd_settle_mode: 1, rcv_settle_mode: 1 };
        original.call(theirs as never, session, 'link-2', 9, options, isReceiver);
        replaced.call(ours as never, session, 'link-2', 9, options, isReceiver);
        change(theirs.local['attach'] as AnyAttach, theirs);
        change(ours.local['attach'] as AnyAttach, ours);
        assertSameAttach(ours.local['attach'] as AnyAttach, theirs.local['attach'] as AnyAttach);
        // Written twice (a peer may attach the link again): the same bytes.
        assert.deepEqual(bytesOf(ours.local['attach']), bytesOf(theirs.local['attach']), what);
        assert.equal((ours as unknown as { is_receiver(): boolean }).is_receiver(), (theirs as unknown as { is_receiver(): boolean }).is_receiver(), what);
      }
      // What rhea refuses, refused the same way when set.
      const theirs = Object.create(Kind.prototype) as AnyLink;
      const ours = Object.create(Kind.prototype) as AnyLink;
      original.call(theirs as never, session, 'link-3', 1, undefined, isReceiver);
      replaced.call(ours as never, session, 'link-3', 1, undefined, isReceiver);
      for (const [field, value] of [['role', undefined], ['name', null], ['handle', undefined], ['source', undefined]] as const) {
        let theirError: unknown;
        try {
          (theirs.local['attach'] as AnyAttach)[field] = value;
        } catch (error) {
          theirError = error;
        }
        let ourError: unknown;
        try {
          (ours.local['attach'] as AnyAttach)[field] = value;
        } catch (error) {
          ourError = error;
        }
        assert.equal(String(ourError), String(theirError), field);
      }
      assertSameAttach(ours.local['attach'] as AnyAttach, theirs.local['attach'] as AnyAttach);
    }
  });

  it('keeps links as fast objects, where rhea alone keeps one in hundreds', () => {
    assert.ok(fastLinks(300, false) <= 2, 'rhea alone: every link after the first is a dictionary');
    assert.equal(fastLinks(300, true), 300);
  });
});
