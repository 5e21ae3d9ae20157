import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { generateKey, SasVerifier, type AuthResult, type IdentityRegistry } from '../../src/hub/auth/index.js';
import { EDGE, GATEWAY, HOUR_SEC, HUB, NOW_MS, NOW_SEC, openRegistry, resourceUri, sasToken } from './auth-test-helpers.js';

const SKEW_MS = 5 * 60_000;

interface Setup {
  registry: IdentityRegistry;
  verifier: SasVerifier;
  clock: { ms: number };
  device: { primary: string; secondary: string };
  module: { primary: string; secondary: string };
}

function setup(t: TestContext, cacheSize = 100): Setup {
  const { registry } = openRegistry(t);
  const device = { primary: generateKey(), secondary: generateKey() };
  const module = { primary: generateKey(), secondary: generateKey() };
  registry.add({ deviceId: 'dev1', authentication: { type: 'sas', primaryKey: device.primary, secondaryKey: device.secondary } });
  registry.add({ deviceId: 'dev1', moduleId: 'mod1', authentication: { type: 'sas', primaryKey: module.primary, secondaryKey: module.secondary } });
  registry.add({ deviceId: 'dev2' });
  const clock = { ms: NOW_MS };
  const verifier = new SasVerifier({ registry, hostnames: [HUB, GATEWAY], clockSkewMs: SKEW_MS, cacheSize, now: () => clock.ms });
  return { registry, verifier, clock, device, module };
}

function accepted(result: AuthResult): Extract<AuthResult, { ok: true }>['identity'] {
  assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.detail} / ${result.logDetail}`);
  return result.identity;
}

function refused(result: AuthResult, code: string, detail?: RegExp): Extract<AuthResult, { ok: false }> {
  assert.ok(!result.ok, 'expected a refusal');
  assert.equal(result.code, code, result.detail);
  if (detail !== undefined) assert.match(`${result.detail} ${result.logDetail ?? ''}`, detail);
  return result;
}

describe('SAS verification', () => {
  it('accepts a device token signed with the primary key, and says how it authenticated', (t) => {
    const { verifier, device } = setup(t);
    assert.deepEqual(accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1' }), 'dev1')), { kind: 'device', deviceId: 'dev1', authMethod: 'sas' });
  });

  it('accepts the secondary key after the primary fails', (t) => {
    const { verifier, device } = setup(t);
    accepted(verifier.verify(sasToken({ key: device.secondary, deviceId: 'dev1' }), 'dev1'));
  });

  it('refuses a token signed with another device’s key', (t) => {
    const { verifier, registry } = setup(t);
    const other = registry.get('dev2')!.authentication;
    assert.equal(other.type, 'sas');
    refused(verifier.verify(sasToken({ key: other.type === 'sas' ? other.primaryKey : '', deviceId: 'dev1' }), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /matches neither key of dev1/);
  });

  it('refuses a token for device A presented as device B', (t) => {
    const { verifier, device } = setup(t);
    refused(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1' }), 'dev2'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /another device/);
  });

  it('compares ids case-insensitively, as EdgeHub does', (t) => {
    const { verifier, device } = setup(t);
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'DEV1' }), 'dev1'));
  });

  it('accepts the IoT hub or the gateway as audience host, in any case, and nothing else', (t) => {
    const { verifier, device } = setup(t);
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1', host: 'MyHub.Azure-Devices.NET' }), 'dev1'));
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1', host: GATEWAY }), 'dev1'));
    refused(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1', host: 'otherhub.azure-devices.net' }), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /audience/);
  });

  it('honours the expiry with the clock skew: 4 minutes late passes, 6 minutes late does not', (t) => {
    const { verifier, device } = setup(t, 0);
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1', expirySec: NOW_SEC - 4 * 60 }), 'dev1'));
    refused(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1', expirySec: NOW_SEC - 6 * 60 }), 'dev1'), 'OUTPOST_AUTH_TOKEN_EXPIRED');
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1', expirySec: NOW_SEC - 5 * 60 }), 'dev1'));
  });

  it('accepts a module token for its module only', (t) => {
    const { verifier, module, registry } = setup(t);
    registry.add({ deviceId: 'dev1', moduleId: 'mod2' });
    const token = sasToken({ key: module.primary, deviceId: 'dev1', moduleId: 'mod1' });
    assert.deepEqual(accepted(verifier.verify(token, 'dev1', 'mod1')), { kind: 'module', deviceId: 'dev1', moduleId: 'mod1', authMethod: 'sas' });
    refused(verifier.verify(token, 'dev1', 'mod2'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /another module/);
    refused(verifier.verify(token, 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /module SAS token cannot authenticate a device/);
  });

  it('accepts a device-scope token, signed with the device key, for a module of that device', (t) => {
    const { verifier, device, module } = setup(t);
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1' }), 'dev1', 'mod1'));
    // …but a device-scope token signed with the module's key is not a device token.
    refused(verifier.verify(sasToken({ key: module.primary, deviceId: 'dev1' }), 'dev1', 'mod1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
  });

  it('refuses unknown identities without telling the client more than for a wrong key', (t) => {
    const { verifier, device } = setup(t);
    const unknown = refused(verifier.verify(sasToken({ key: device.primary, deviceId: 'ghost' }), 'ghost'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /not in the identity registry/);
    const wrongKey = refused(verifier.verify(sasToken({ key: generateKey(), deviceId: 'dev1' }), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    assert.equal(unknown.detail, wrongKey.detail);
  });

  it('refuses disabled identities, and the modules of a disabled device', (t) => {
    const { verifier, device, module, registry } = setup(t);
    registry.setStatus('dev1', 'mod1', 'disabled');
    const moduleResult = refused(verifier.verify(sasToken({ key: module.primary, deviceId: 'dev1', moduleId: 'mod1' }), 'dev1', 'mod1'), 'OUTPOST_AUTH_IDENTITY_DISABLED');
    assert.equal(moduleResult.reason, 'not-authorized');
    registry.setStatus('dev1', 'mod1', 'enabled');
    registry.setStatus('dev1', undefined, 'disabled');
    refused(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1' }), 'dev1'), 'OUTPOST_AUTH_IDENTITY_DISABLED');
    refused(verifier.verify(sasToken({ key: module.primary, deviceId: 'dev1', moduleId: 'mod1' }), 'dev1', 'mod1'), 'OUTPOST_AUTH_IDENTITY_DISABLED', /dev1 is disabled/);
  });

  it('refuses identities that do not use SAS keys', (t) => {
    const { verifier, registry } = setup(t);
    registry.add({ deviceId: 'cert-dev', authentication: { type: 'certificateAuthority' } });
    refused(verifier.verify(sasToken({ key: generateKey(), deviceId: 'cert-dev' }), 'cert-dev'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /does not authenticate with SAS keys/);
  });

  it('detects tampering with any signed part: sr, se or the signature', (t) => {
    const { verifier, device } = setup(t, 0);
    const good = sasToken({ key: device.primary, deviceId: 'dev1' });
    accepted(verifier.verify(good, 'dev1'));
    const later = good.replace(`se=${NOW_SEC + HOUR_SEC}`, `se=${NOW_SEC + 100 * HOUR_SEC}`);
    refused(verifier.verify(later, 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    // Same audience, spelled differently in sr: the raw sr is what was signed.
    const respelled = good.replace(resourceUri(HUB, 'dev1'), resourceUri(HUB.toUpperCase(), 'dev1'));
    refused(verifier.verify(respelled, 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    const sig = decodeURIComponent(/sig=([^&]+)/.exec(good)![1]!);
    const flipped = Buffer.from(sig, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    refused(verifier.verify(good.replace(/sig=[^&]+/, `sig=${encodeURIComponent(flipped.toString('base64'))}`), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    refused(verifier.verify(good.replace(/sig=[^&]+/, 'sig=AAAA'), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /not base64 of an HMAC/);
    // Non-canonical base64 that decodes to the same bytes is not the signature either.
    refused(verifier.verify(good.replace(/sig=([^&]+)/, 'sig=$1%20'), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /not base64 of an HMAC/);
  });

  it('compares signatures with crypto.timingSafeEqual, on equal-length digests, for right and wrong keys', (t) => {
    const { verifier, device } = setup(t, 0);
    const calls: [number, number][] = [];
    const original = crypto.timingSafeEqual;
    t.mock.method(crypto, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return original(a, b);
    });
    accepted(verifier.verify(sasToken({ key: device.primary, deviceId: 'dev1' }), 'dev1'));
    assert.deepEqual(calls, [[32, 32]]);
    calls.length = 0;
    refused(verifier.verify(sasToken({ key: generateKey(), deviceId: 'dev1' }), 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    assert.deepEqual(calls, [[32, 32], [32, 32]], 'primary, then secondary');
  });
});

describe('token cache', () => {
  it('skips the HMAC for a token it verified, until the token expires', (t) => {
    const { verifier, device, clock } = setup(t);
    const token = sasToken({ key: device.primary, deviceId: 'dev1', expirySec: NOW_SEC + 60 });
    let hmacs = 0;
    const original = crypto.createHmac;
    t.mock.method(crypto, 'createHmac', (...args: Parameters<typeof crypto.createHmac>) => {
      hmacs++;
      return original(...args);
    });
    accepted(verifier.verify(token, 'dev1'));
    accepted(verifier.verify(token, 'dev1'));
    accepted(verifier.verify(token, 'dev1', 'mod1'));
    assert.equal(hmacs, 1);
    assert.equal(verifier.cache.hits, 2);
    clock.ms = (NOW_SEC + 60) * 1000 + SKEW_MS + 1;
    refused(verifier.verify(token, 'dev1'), 'OUTPOST_AUTH_TOKEN_EXPIRED');
    assert.equal(verifier.cache.size, 0, 'the expired entry is gone');
  });

  it('does not let a cached token outlive a key rotation, a disable or a removal', (t) => {
    const { verifier, device, registry } = setup(t);
    const token = sasToken({ key: device.primary, deviceId: 'dev1' });
    accepted(verifier.verify(token, 'dev1'));
    registry.rotateKeys('dev1', undefined, 'primary');
    refused(verifier.verify(token, 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');

    const fresh = registry.get('dev1')!.authentication;
    const token2 = sasToken({ key: fresh.type === 'sas' ? fresh.primaryKey : '', deviceId: 'dev1' });
    accepted(verifier.verify(token2, 'dev1'));
    registry.setStatus('dev1', undefined, 'disabled');
    refused(verifier.verify(token2, 'dev1'), 'OUTPOST_AUTH_IDENTITY_DISABLED');
    registry.setStatus('dev1', undefined, 'enabled');
    accepted(verifier.verify(token2, 'dev1'));
    registry.remove('dev1');
    refused(verifier.verify(token2, 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
  });

  it('still checks the connecting identity on a cache hit', (t) => {
    const { verifier, device } = setup(t);
    const token = sasToken({ key: device.primary, deviceId: 'dev1' });
    accepted(verifier.verify(token, 'dev1'));
    refused(verifier.verify(token, 'dev2'), 'OUTPOST_AUTH_BAD_CREDENTIALS', /another device/);
  });

  it('is bounded: the oldest entries go first', (t) => {
    const { verifier, device } = setup(t, 3);
    const tokens = [1, 2, 3, 4].map((n) => sasToken({ key: device.primary, deviceId: 'dev1', expirySec: NOW_SEC + n }));
    for (const token of tokens) accepted(verifier.verify(token, 'dev1'));
    assert.equal(verifier.cache.size, 3);
    const hits = verifier.cache.hits;
    accepted(verifier.verify(tokens[3]!, 'dev1'));
    assert.equal(verifier.cache.hits, hits + 1);
    accepted(verifier.verify(tokens[0]!, 'dev1'));
    assert.equal(verifier.cache.hits, hits + 1, 'the first token was evicted');
  });

  it('hits only on the exact token text: a cached token with its expiry or audience edited is verified afresh and refused', (t) => {
    const { verifier, device } = setup(t);
    const token = sasToken({ key: device.primary, deviceId: 'dev1' });
    accepted(verifier.verify(token, 'dev1'));
    const se = /se=(\d+)/.exec(token)![1]!;
    const later = token.replace(`se=${se}`, `se=${Number(se) + HOUR_SEC}`);
    refused(verifier.verify(later, 'dev1'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    const otherAudience = token.replace('dev1', 'dev2');
    assert.notEqual(otherAudience, token);
    assert.equal(verifier.verify(otherAudience, 'dev2').ok, false);
    accepted(verifier.verify(token, 'dev1'));
  });

  it('is used for edge modules without a device record', (t) => {
    const { registry, verifier } = setup(t);
    const record = registry.ensureModule('filter');
    assert.equal(record.deviceId, EDGE);
    const auth = record.authentication;
    accepted(verifier.verify(sasToken({ key: auth.type === 'sas' ? auth.primaryKey : '', deviceId: EDGE, moduleId: 'filter' }), EDGE, 'filter'));
    // A device-scope token needs the device's key, which this registry does not have.
    refused(verifier.verify(sasToken({ key: generateKey(), deviceId: EDGE }), EDGE, 'filter'), 'OUTPOST_AUTH_BAD_CREDENTIALS');
  });
});
