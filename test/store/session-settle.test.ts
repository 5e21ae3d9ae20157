/**
 * The broker side of store-owned delivery (Outgoing.onSettled), which the store's at-least-once
 * and ordering guarantees rest on: a PUBACK settles true; a session that lets go of a message
 * (disconnect, queue overflow) settles false exactly once and never resends it itself; the session
 * never persists a store-owned message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Session, type BrokerMessage, type Outgoing, type SessionLink } from '../../src/hub/broker/index.js';

function link(): SessionLink & { sent: number[] } {
  const sent: number[] = [];
  return {
    protocolVersion: 4,
    sent,
    sendPublish: (_message, _qos, packetId) => {
      sent.push(packetId ?? 0);
      return true;
    },
    sendPubrel: () => undefined,
    isCongested: () => false,
  };
}

const message: BrokerMessage = { topic: 'devices/e/modules/m/inputs/in/', payload: Buffer.from('x'), qos: 1, retain: false, properties: undefined, expiresAtMs: undefined, senderClientId: '' };

function owned(outcomes: boolean[]): Outgoing {
  return { message, qos: 1, retain: false, subscriptionIds: [], seq: 0, onSettled: (acked) => outcomes.push(acked) };
}

function session(persisted: Outgoing[], maxQueued = 100): Session {
  return new Session('e/m', 3600, { maxInflight: 2, maxQueued }, { dropped: () => undefined, acknowledged: () => undefined, queued: (_s, outgoing) => persisted.push(outgoing) });
}

describe('store-owned delivery through a broker session', () => {
  it('settles true on PUBACK and never persists the message', () => {
    const persisted: Outgoing[] = [];
    const s = session(persisted);
    const l = link();
    s.attach(l, undefined);
    const outcomes: boolean[] = [];
    s.deliver(owned(outcomes));
    s.deliver(owned(outcomes));
    assert.equal(l.sent.length, 2);
    assert.ok(s.complete(l.sent[0]!));
    assert.deepEqual(outcomes, [true]);
    assert.equal(persisted.length, 0, 'the store owns its durability');
  });

  it('hands back in-flight and queued messages unsettled on disconnect, and does not resend them', () => {
    const s = session([]);
    const l = link();
    s.attach(l, undefined);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 5; i++) s.deliver(owned(outcomes));
    assert.equal(l.sent.length, 2, 'the window is 2; three wait in the queue');
    s.complete(l.sent[0]!);
    s.detach();
    assert.deepEqual(outcomes, [true, false, false, false, false]);
    const again = link();
    s.attach(again, undefined);
    assert.equal(again.sent.length, 0, 'nothing resent by the session');
    assert.equal(s.inflightCount + s.queuedCount, 0);
  });

  it('settles false when its queue overflows, and keeps ordinary messages as before', () => {
    const persisted: Outgoing[] = [];
    const s = session(persisted, 1);
    const outcomes: boolean[] = [];
    s.deliver(owned(outcomes));
    s.deliver(owned(outcomes));
    assert.deepEqual(outcomes, [false], 'the oldest gave way');
    s.deliver({ message, qos: 1, retain: false, subscriptionIds: [], seq: 0 });
    assert.equal(persisted.length, 1, 'an ordinary QoS 1 message to a persistent session is still persisted');
  });
});
