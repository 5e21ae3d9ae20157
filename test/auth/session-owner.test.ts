/**
 * The rule of who may use a client id and its session (src/hub/auth/session-owner.ts), case by
 * case; the hub-level behaviour is in test/mqtt/broker/session-owner.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientIdRefusal, sessionOwnerKey, type ClientIdentity } from '../../src/hub/auth/index.js';

const registered = new Set(['sensor-1', 'edge-1/modB', 'other-edge/$edgeHub']);
const identities = { get: (deviceId: string, moduleId?: string) => (registered.has(moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`) ? {} : undefined) };
const anonymous: ClientIdentity = { kind: 'anonymous' };
const modB: ClientIdentity = { kind: 'module', deviceId: 'edge-1', moduleId: 'modB', authMethod: 'sas' };
const sensor: ClientIdentity = { kind: 'device', deviceId: 'sensor-1' };
const refusal = (identity: ClientIdentity, clientId: string, owner?: unknown) => clientIdRefusal(identity, clientId, owner, identities, 'edge-1');

describe('client ids and sessions', () => {
  it('lets an identity use its own client id and session, restored from the store or not', () => {
    assert.equal(refusal(modB, 'edge-1/modB'), undefined);
    // A restored owner is a copy (decoded from the store), without the auth method.
    assert.equal(refusal(modB, 'edge-1/modB', { kind: 'module', deviceId: 'edge-1', moduleId: 'modB' }), undefined);
    assert.equal(refusal(sensor, 'sensor-1', { kind: 'device', deviceId: 'sensor-1' }), undefined);
  });

  it("refuses another identity's session, whichever identity asks", () => {
    assert.equal(refusal(anonymous, 'edge-1/modB', modB), 'session-owned-by-another-identity');
    assert.equal(refusal(sensor, 'sensor-1', { kind: 'module', deviceId: 'sensor-1', moduleId: 'x' }), 'session-owned-by-another-identity');
    // The identity was removed from the registry since: its session still is not anyone else's.
    assert.equal(clientIdRefusal(anonymous, 'gone/mod', { kind: 'module', deviceId: 'gone', moduleId: 'mod' }, identities, 'edge-1'), 'session-owned-by-another-identity');
    assert.equal(refusal(modB, 'plc-1', anonymous), 'session-owned-by-another-identity');
  });

  it("reserves every IoT Hub identity's client id, and all of the edge device's, with or without a session", () => {
    assert.equal(refusal(anonymous, 'sensor-1'), 'client-id-reserved');
    assert.equal(refusal(anonymous, 'other-edge/$edgeHub'), 'client-id-reserved');
    assert.equal(refusal(anonymous, 'edge-1'), 'client-id-reserved');
    assert.equal(refusal(anonymous, 'edge-1/not-deployed-yet'), 'client-id-reserved');
    assert.equal(refusal(sensor, 'edge-1/modB'), 'client-id-reserved');
  });

  it('leaves other client ids to anonymous clients, who are one identity among themselves', () => {
    assert.equal(refusal(anonymous, 'plc-1'), undefined);
    assert.equal(refusal(anonymous, 'plc-1', { kind: 'anonymous' }), undefined);
    assert.equal(refusal(anonymous, 'sensor-2/x'), undefined);
    assert.equal(refusal(anonymous, '/odd'), undefined);
  });

  it('counts sessions per identity, all anonymous clients under one key that no identity can have', () => {
    assert.equal(sessionOwnerKey(anonymous), sessionOwnerKey({ kind: 'anonymous' }));
    assert.equal(sessionOwnerKey(modB), 'edge-1/modB');
    assert.equal(sessionOwnerKey(sensor), 'sensor-1');
    assert.ok(sessionOwnerKey(anonymous)!.startsWith('/'));
    assert.equal(sessionOwnerKey(undefined), undefined);
  });
});
