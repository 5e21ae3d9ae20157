import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { OutpostError } from '../../src/errors/index.js';
import {
  AnonymousAuthenticator,
  AuthFailureLimiter,
  IdentityAuthenticator,
  generateKey,
  type AuthResult,
  type ConnectCredentials,
  type IdentityRegistry,
  claimFromClientId,
} from '../../src/hub/auth/index.js';
import { MqttCredentials, type MqttLogin } from '../../src/hub/transport/index.js';
import { GATEWAY, HUB, makeCertificate, NOW_MS, NOW_SEC, openRegistry, peerCertificate, sasToken, tempDir } from './auth-test-helpers.js';

const USERNAME_QUERY = '?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4';

/** An MQTT login as the MQTT transport hands it to the authenticator (its user name is the claim). */
function credentials(overrides: Partial<MqttLogin>): ConnectCredentials {
  return new MqttCredentials({
    listener: 'mqtt',
    secure: true,
    remoteAddress: '10.0.0.1',
    clientId: 'dev1',
    username: `${HUB}/dev1/${USERNAME_QUERY}`,
    password: undefined,
    peerCertificate: undefined,
    ...overrides,
  });
}

/** What another transport (an AMQP CBS put-token) hands over: the identity and the token, no user name. */
function tokenCredentials(identity: string, token: string): ConnectCredentials {
  return {
    protocol: 'amqp',
    listener: 'amqp',
    secure: true,
    remoteAddress: '10.0.0.1',
    clientId: identity,
    anonymous: false,
    sasToken: Buffer.from(token),
    peerCertificate: undefined,
    loginKey: undefined,
    claimIdentity: () => claimFromClientId(identity),
  };
}

function setup(t: TestContext, options: { sleep?: (ms: number) => Promise<void> } = {}) {
  const { registry } = openRegistry(t);
  const key = generateKey();
  registry.add({ deviceId: 'dev1', authentication: { type: 'sas', primaryKey: key, secondaryKey: generateKey() } });
  registry.add({ deviceId: 'dev1', moduleId: 'mod1', authentication: { type: 'sas', primaryKey: key, secondaryKey: generateKey() } });
  const delays: number[] = [];
  const authenticator = new IdentityAuthenticator({
    registry,
    iotHubHostname: HUB,
    gatewayHostname: GATEWAY,
    now: () => NOW_MS,
    limiter: new AuthFailureLimiter({ now: () => NOW_MS, freeFailures: 5, baseDelayMs: 250, maxDelayMs: 5000 }),
    sleep:
      options.sleep ??
      (async (ms) => {
        delays.push(ms);
      }),
  });
  return { registry, authenticator, key, delays };
}

const password = (token: string) => Buffer.from(token);

function accepted(result: AuthResult): Extract<AuthResult, { ok: true }>['identity'] {
  assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.detail} / ${result.logDetail}`);
  return result.identity;
}

function refused(result: AuthResult, code: string): Extract<AuthResult, { ok: false }> {
  assert.ok(!result.ok, 'expected a refusal');
  assert.equal(result.code, code, result.detail);
  return result;
}

describe('IdentityAuthenticator over MQTT', () => {
  it('answers synchronously (no promise) when the address is not slowed down', (t) => {
    const { authenticator, key } = setup(t);
    const result = authenticator.authenticate(credentials({ password: password(sasToken({ key, deviceId: 'dev1' })) }));
    assert.ok(!(result instanceof Promise));
    assert.ok(result.ok);
  });

  it('authenticates a device and a module by username and SAS password', async (t) => {
    const { authenticator, key } = setup(t);
    assert.deepEqual(accepted(await authenticator.authenticate(credentials({ password: password(sasToken({ key, deviceId: 'dev1' })) }))), {
      kind: 'device',
      deviceId: 'dev1',
      authMethod: 'sas',
    });
    const module = await authenticator.authenticate(
      credentials({ clientId: 'dev1/mod1', username: `${HUB}/dev1/mod1/${USERNAME_QUERY}`, password: password(sasToken({ key, deviceId: 'dev1', moduleId: 'mod1' })) }),
    );
    assert.deepEqual(accepted(module), { kind: 'module', deviceId: 'dev1', moduleId: 'mod1', authMethod: 'sas' });
  });

  it('refuses malformed usernames and a client id that names someone else', async (t) => {
    const { authenticator, key } = setup(t);
    const token = password(sasToken({ key, deviceId: 'dev1' }));
    refused(await authenticator.authenticate(credentials({ username: `${HUB}/dev1`, password: token })), 'OUTPOST_MQTT_BAD_USERNAME');
    refused(await authenticator.authenticate(credentials({ username: '', password: token })), 'OUTPOST_MQTT_BAD_USERNAME');
    refused(await authenticator.authenticate(credentials({ username: `${HUB}/dev1/?DeviceClientType=x`, password: token })), 'OUTPOST_MQTT_BAD_USERNAME');
    refused(await authenticator.authenticate(credentials({ clientId: 'dev2', password: token })), 'OUTPOST_MQTT_CLIENT_ID_MISMATCH');
    refused(await authenticator.authenticate(credentials({ username: undefined, password: token })), 'OUTPOST_AUTH_BAD_CREDENTIALS');
  });

  it('refuses a token for device A presented as device B (username and client id say B)', async (t) => {
    const { authenticator, key, registry } = setup(t);
    registry.add({ deviceId: 'dev2' });
    const result = refused(
      await authenticator.authenticate(credentials({ clientId: 'dev2', username: `${HUB}/dev2/${USERNAME_QUERY}`, password: password(sasToken({ key, deviceId: 'dev1' })) })),
      'OUTPOST_AUTH_BAD_CREDENTIALS',
    );
    assert.equal(result.reason, 'bad-credentials');
  });

  it('needs a password or a client certificate; an empty certificate object is none', async (t) => {
    const { authenticator } = setup(t);
    refused(await authenticator.authenticate(credentials({})), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    refused(await authenticator.authenticate(credentials({ peerCertificate: {} as never, password: Buffer.alloc(0) })), 'OUTPOST_AUTH_BAD_CREDENTIALS');
  });

  it('authenticates a client certificate when there is no password', async (t) => {
    const { authenticator, registry } = setup(t);
    const certificate = makeCertificate({ commonName: 'x509-dev' });
    registry.add({ deviceId: 'x509-dev', authentication: { type: 'selfSigned', primaryThumbprint: createHash('sha1').update(certificate.x509.raw).digest('hex').toUpperCase() } });
    const result = await authenticator.authenticate(credentials({ clientId: 'x509-dev', username: `${HUB}/x509-dev/${USERNAME_QUERY}`, peerCertificate: peerCertificate(certificate) }));
    assert.deepEqual(accepted(result), { kind: 'device', deviceId: 'x509-dev', authMethod: 'x509-thumbprint' });
  });

  it('takes protocol-neutral credentials from other transports (an identity and a token), and verifies tokens directly', async (t) => {
    const { authenticator, key } = setup(t);
    const token = sasToken({ key, deviceId: 'dev1', moduleId: 'mod1' });
    assert.deepEqual(accepted(await authenticator.authenticate(tokenCredentials('dev1/mod1', token))), { kind: 'module', deviceId: 'dev1', moduleId: 'mod1', authMethod: 'sas' });
    refused(await authenticator.authenticate(tokenCredentials('/mod1', token)), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    refused(await authenticator.authenticate(tokenCredentials('dev1', token)), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    accepted(authenticator.verifySasToken(token, 'dev1', 'mod1'));
  });

  it('sits behind AnonymousAuthenticator: anonymous only where allowed, everyone else verified', async (t) => {
    const { authenticator, key } = setup(t);
    const chain = new AnonymousAuthenticator(true, authenticator);
    assert.deepEqual(accepted(await chain.authenticate(credentials({ listener: 'mqttPlain', username: undefined, clientId: 'anon' }))), { kind: 'anonymous' });
    refused(await chain.authenticate(credentials({ username: undefined, clientId: 'anon' })), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    accepted(await chain.authenticate(credentials({ password: password(sasToken({ key, deviceId: 'dev1' })) })));
  });

  it('never puts a key, token or signature in a refusal', async (t) => {
    const { authenticator, key, registry } = setup(t);
    registry.setStatus('dev1', 'mod1', 'disabled');
    const tokens = [
      sasToken({ key: generateKey(), deviceId: 'dev1' }),
      sasToken({ key, deviceId: 'dev1', expirySec: NOW_SEC - 3600 }),
      sasToken({ key, deviceId: 'dev1', host: 'evil.example' }),
      sasToken({ key, deviceId: 'ghost' }),
      sasToken({ key, deviceId: 'dev1' }).replace('se=', 'se=x'),
      sasToken({ key, deviceId: 'dev1' }).replace(' ', '  '),
      sasToken({ key, deviceId: 'dev1', moduleId: 'mod1' }),
    ];
    for (const [i, token] of tokens.entries()) {
      const clientId = i === tokens.length - 1 ? 'dev1/mod1' : 'dev1';
      const username = i === tokens.length - 1 ? `${HUB}/dev1/mod1/${USERNAME_QUERY}` : `${HUB}/dev1/${USERNAME_QUERY}`;
      const result = await authenticator.authenticate(credentials({ clientId, username, password: password(token) }));
      assert.ok(!result.ok, `token ${i} must be refused`);
      const text = JSON.stringify(result);
      const sig = decodeURIComponent(/sig=([^&]+)/.exec(token)![1]!);
      for (const secret of [key, token, sig, /sig=([^&]+)/.exec(token)![1]!]) assert.ok(!text.includes(secret), `refusal ${i} leaks a secret: ${text}`);
    }
  });
});

describe('failed logins: guessing is slowed, good logins are not', () => {
  it('slows one identity guessed from one address (doubling after five, capped); good logins from that address are answered at once', async (t) => {
    const { authenticator, key, delays } = setup(t);
    const bad = credentials({ password: password(sasToken({ key: generateKey(), deviceId: 'dev1' })) });
    for (let i = 0; i < 10; i++) assert.ok(!(await authenticator.authenticate(bad)).ok);
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000]);
    delays.length = 0;
    // The guessed identity itself, with good credentials, from the guessing address: no delay.
    const same = authenticator.authenticate(credentials({ password: password(sasToken({ key, deviceId: 'dev1', expirySec: NOW_SEC + 60 })) }));
    assert.ok(!(same instanceof Promise), 'a good login is answered synchronously');
    accepted(same);
    // Another identity from the same address (another module on the gateway): no delay.
    const other = authenticator.authenticate(credentials({ clientId: 'dev1/mod1', username: `${HUB}/dev1/mod1/${USERNAME_QUERY}`, password: password(sasToken({ key, deviceId: 'dev1', moduleId: 'mod1' })) }));
    assert.ok(!(other instanceof Promise));
    accepted(other);
    // A bad login for another identity from that address starts from its own count.
    await authenticator.authenticate(credentials({ clientId: 'dev1/mod1', username: `${HUB}/dev1/mod1/${USERNAME_QUERY}`, password: password(sasToken({ key: generateKey(), deviceId: 'dev1', moduleId: 'mod1' })) }));
    assert.deepEqual(delays, []);
  });

  it('bounds the failed logins one address has in flight: a parallel guesser gets no more checks, a good client still gets in', async (t) => {
    const held: (() => void)[] = [];
    const { authenticator, key } = setup(t, { sleep: () => new Promise<void>((resolve) => held.push(resolve)) });
    const limiter = authenticator.limiter;
    const guess = () => credentials({ password: password(sasToken({ key: generateKey(), deviceId: 'dev1' })) });
    // A known login of the guessed identity, from before the guessing.
    const known = credentials({ password: password(sasToken({ key, deviceId: 'dev1', expirySec: NOW_SEC + 120 })) });
    accepted(await authenticator.authenticate(known));
    // Fifty guesses at once from one address.
    const answers = Array.from({ length: 50 }, () => authenticator.authenticate(guess()));
    const immediate = answers.filter((a): a is AuthResult => !(a instanceof Promise));
    const codes = immediate.map((a) => (a.ok ? 'ok' : a.code));
    assert.equal(codes.filter((c) => c === 'OUTPOST_AUTH_BAD_CREDENTIALS').length, 5, 'five free failures, answered at once');
    assert.equal(answers.length - immediate.length, limiter.maxHeldPerAddress, 'then one held answer per slot');
    assert.equal(codes.filter((c) => c === 'OUTPOST_AUTH_TOO_MANY_FAILURES').length, 50 - 5 - limiter.maxHeldPerAddress, 'the rest refused busy, unchecked');
    for (const answer of immediate) if (!answer.ok && answer.code === 'OUTPOST_AUTH_TOO_MANY_FAILURES') assert.equal(answer.reason, 'busy');
    // Meanwhile: the known login and another identity from the same address get in at once.
    const again = authenticator.authenticate(known);
    assert.ok(!(again instanceof Promise));
    accepted(again);
    accepted(authenticator.authenticate(credentials({ clientId: 'dev1/mod1', username: `${HUB}/dev1/mod1/${USERNAME_QUERY}`, password: password(sasToken({ key, deviceId: 'dev1', moduleId: 'mod1' })) })) as AuthResult);
    // And another address is not held by this one.
    accepted(authenticator.authenticate(credentials({ remoteAddress: '10.9.9.9', password: password(sasToken({ key, deviceId: 'dev1', expirySec: NOW_SEC + 30 })) })) as AuthResult);
    // A held answer's time is up: its slot frees (whether or not its client is still there), and one more guess is checked.
    held.shift()!();
    await Promise.race(answers.filter((a) => a instanceof Promise));
    assert.equal(limiter.heldBy('10.0.0.1'), limiter.maxHeldPerAddress - 1);
    const next = authenticator.authenticate(guess());
    assert.ok(next instanceof Promise, 'checked, failed, held');
    const after = authenticator.authenticate(guess());
    assert.ok(!(after instanceof Promise) && !after.ok && after.reason === 'busy');
    for (const release of held.splice(0)) release();
  });

  it('forgets a pair after a quiet window and bounds how many it remembers', () => {
    const clock = { ms: 0 };
    const limiter = new AuthFailureLimiter({ now: () => clock.ms, freeFailures: 1, windowMs: 1000, maxEntries: 2 });
    assert.equal(limiter.recordFailure('a', 'x'), 0);
    assert.equal(limiter.recordFailure('a', 'x'), 250);
    assert.equal(limiter.recordFailure('a', 'x'), 500);
    assert.equal(limiter.recordFailure('a', 'y'), 0, 'another identity from the same address has its own count');
    clock.ms = 1001;
    assert.equal(limiter.recordFailure('a', 'x'), 0, 'forgotten after the window');
    for (const identity of ['p', 'q', 'r']) limiter.recordFailure('b', identity);
    assert.equal(limiter.recordFailure('b', 'p'), 0, 'the oldest pair was forgotten');
    assert.equal(limiter.recordFailure('b', 'r'), 250);
    limiter.release('a');
    limiter.release('a');
    limiter.release('b');
    assert.equal(limiter.heldBy('a'), 0);
    assert.equal(limiter.admits('a', 'x'), true);
  });
});

describe('IdentityAuthenticator.fromConfig', () => {
  it('reads tls.clientCaFile and refuses an unusable one with OUTPOST_TLS_CERT_UNREADABLE', (t) => {
    const dir = tempDir(t);
    const { registry } = openRegistry(t) as { registry: IdentityRegistry };
    const ca = makeCertificate({ commonName: 'Client CA', isCa: true });
    const caFile = join(dir, 'clients-ca.pem');
    writeFileSync(caFile, ca.pem);
    const config = loadConfig({ env: {}, flags: [{ flag: '--set', path: 'tls.clientCaFile', text: caFile }, { flag: '--set', path: 'auth.sasClockSkew', text: '1m' }] }).config;
    assert.equal(config.auth.sasClockSkew, 60_000);
    IdentityAuthenticator.fromConfig(config, registry);
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, 'no certificates here');
    const bad = loadConfig({ env: {}, flags: [{ flag: '--set', path: 'tls.clientCaFile', text: empty }] }).config;
    assert.throws(() => IdentityAuthenticator.fromConfig(bad, registry), (error: unknown) => error instanceof OutpostError && error.code === 'OUTPOST_TLS_CERT_UNREADABLE');
  });
});

describe('a reconnect with the login that worked before (the login cache)', () => {
  function clocked(t: TestContext) {
    const { registry } = openRegistry(t);
    const key = generateKey();
    registry.add({ deviceId: 'dev1', authentication: { type: 'sas', primaryKey: key, secondaryKey: generateKey() } });
    const clock = { ms: NOW_MS };
    const authenticator = new IdentityAuthenticator({ registry, iotHubHostname: HUB, gatewayHostname: GATEWAY, now: () => clock.ms });
    const sent: Partial<MqttLogin> = { password: password(sasToken({ key, deviceId: 'dev1', expirySec: NOW_SEC + 60 })) };
    return { registry, authenticator, clock, login: credentials(sent), sent };
  }

  it('is recognized without the token cache, and gives the same identity object', async (t) => {
    const { authenticator, login, sent } = clocked(t);
    const first = accepted(await authenticator.authenticate(login));
    const hits = authenticator.sas.cache.hits;
    const misses = authenticator.sas.cache.misses;
    const again = accepted(await authenticator.authenticate(credentials({ ...sent, password: Buffer.from(sent.password!) })));
    assert.equal(again, first);
    assert.equal(authenticator.sas.cache.hits + authenticator.sas.cache.misses, hits + misses, 'the token cache was not consulted');
    assert.equal(authenticator.logins.size, 1);
  });

  it('is kept in the login cache alone: the token cache, which tokens verified directly (CBS, HTTPS) still fill, does not hold it too', async (t) => {
    const { authenticator, login, sent } = clocked(t);
    accepted(await authenticator.authenticate(login));
    assert.equal(authenticator.logins.size, 1);
    assert.equal(authenticator.sas.cache.size, 0, 'an MQTT login is not cached twice');
    assert.equal(authenticator.verifySasToken(sent.password!.toString('utf8'), 'dev1').ok, true);
    assert.equal(authenticator.sas.cache.size, 1);
  });

  it('stops working at once when the keys are rotated, the identity disabled or removed', async (t) => {
    for (const change of ['rotate', 'disable', 'remove'] as const) {
      const { registry, authenticator, login } = clocked(t);
      accepted(await authenticator.authenticate(login));
      if (change === 'rotate') registry.rotateKeys('dev1', undefined, 'both');
      else if (change === 'disable') registry.setStatus('dev1', undefined, 'disabled');
      else registry.remove('dev1');
      refused(await authenticator.authenticate(login), change === 'disable' ? 'OUTPOST_AUTH_IDENTITY_DISABLED' : 'OUTPOST_AUTH_BAD_CREDENTIALS');
    }
  });

  it('stops working when the token expires (beyond the clock skew)', async (t) => {
    const { authenticator, clock, login } = clocked(t);
    accepted(await authenticator.authenticate(login));
    clock.ms = NOW_MS + 60_000 + 5 * 60_000 + 1;
    refused(await authenticator.authenticate(login), 'OUTPOST_AUTH_TOKEN_EXPIRED');
  });

  it('carries the user name\'s model id, also from the login cache', async (t) => {
    const { authenticator, login, sent } = clocked(t);
    const withModel = credentials({ ...sent, username: `${HUB}/dev1/${USERNAME_QUERY}&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1` });
    for (let i = 0; i < 2; i++) {
      const result = await authenticator.authenticate(withModel);
      assert.ok(result.ok && result.modelId === 'dtmi:com:example:Thermostat;1', `connect ${i + 1}`);
    }
    assert.equal(authenticator.logins.size, 1);
    const plain = await authenticator.authenticate(login);
    assert.ok(plain.ok && plain.modelId === undefined, 'no model id without one in the user name');
  });

  it('is only the exact login: the same token under another client id or user name is checked in full', async (t) => {
    const { authenticator, login, sent } = clocked(t);
    accepted(await authenticator.authenticate(login));
    refused(await authenticator.authenticate(credentials({ ...sent, clientId: 'dev2' })), 'OUTPOST_MQTT_CLIENT_ID_MISMATCH');
    refused(await authenticator.authenticate(credentials({ ...sent, clientId: 'dev2', username: `${HUB}/dev2/${USERNAME_QUERY}` })), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    refused(await authenticator.authenticate(credentials({ ...sent, username: `${HUB}/dev1` })), 'OUTPOST_MQTT_BAD_USERNAME');
  });

  it('is only the exact token: one changed byte of it, or a token of another length, is checked in full and refused', async (t) => {
    const { authenticator, login, sent } = clocked(t);
    accepted(await authenticator.authenticate(login));
    const token = sent.password!;
    const changed = Buffer.from(token);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
    refused(await authenticator.authenticate(credentials({ ...sent, password: changed })), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    refused(await authenticator.authenticate(credentials({ ...sent, password: Buffer.concat([token, Buffer.from('x')]) })), 'OUTPOST_AUTH_BAD_CREDENTIALS');
    accepted(await authenticator.authenticate(credentials({ ...sent, password: Buffer.from(token) })));
    assert.equal(authenticator.logins.size, 1);
  });
});
