import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { issueCertificate } from '../../src/tls/index.js';
import { runOutpost, startHub, testScope } from '../helpers/outpost-process.js';
import { closedWithin, httpsGet, tcpOpen, tlsOpen } from './tls-client.js';

const scope = testScope('outpost-hub-', after);
const newDir = () => scope.newDir();
async function hub(options: Parameters<typeof startHub>[0]) {
  const started = await startHub(options);
  scope.track(started.outpost);
  return started;
}

describe('listeners with the generated development CA', () => {
  it('binds ephemeral ports, reports them in hub.ready, and serves TLS that the CA verifies on every listener', async () => {
    const dataDir = newDir();
    const { ports, ready, outpost } = await hub({ dataDir, args: ['--mqtt-plain-port', '0', '--gateway-hostname', 'gw.example.test'] });
    for (const name of ['mqtt', 'amqp', 'https', 'mqttPlain'] as const) assert.ok(typeof ports[name] === 'number' && ports[name]! > 0, name);
    assert.equal(new Set(Object.values(ports)).size, 4);
    assert.equal(ready.caFile, join(dataDir, 'certs', 'dev-ca.pem'));
    const devCa = outpost.lines.find((l) => l.event === 'tls.dev_ca');
    assert.equal(devCa?.caFile, ready.caFile);

    const ca = readFileSync(String(ready.caFile), 'utf8');
    for (const port of [ports.mqtt!, ports.amqp!]) {
      for (const servername of ['localhost', hostname(), 'gw.example.test']) {
        const socket = await tlsOpen(port, { ca, servername });
        assert.equal(socket.authorized, true);
        assert.equal(socket.getProtocol(), 'TLSv1.3');
        socket.destroy();
      }
      for (const host of ['127.0.0.1', '::1']) {
        const socket = await tlsOpen(port, { ca, host, servername: '' });
        assert.equal(socket.authorized, true, host);
        socket.destroy();
      }
    }
    const health = await httpsGet(ports.https!, '/health', { ca });
    assert.equal(health.status, 200);
    const body = JSON.parse(health.body) as Record<string, unknown>;
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.ports, ports);
    assert.equal((await httpsGet(ports.https!, '/nope', { ca })).status, 404);

    const plain = await tcpOpen(ports.mqttPlain!);
    assert.equal(plain.remotePort, ports.mqttPlain);
    plain.destroy();
  });

  it('refuses clients that do not trust the CA, TLS below 1.2, and 1.2 when only 1.3 is configured', async () => {
    const { ports } = await hub({ dataDir: newDir(), env: { SslProtocols: 'tls1.3' } });
    await assert.rejects(tlsOpen(ports.mqtt!), /self-signed certificate in certificate chain|unable to verify/);
    await assert.rejects(tlsOpen(ports.mqtt!, { rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
    await assert.rejects(tlsOpen(ports.amqp!, { rejectUnauthorized: false, maxVersion: 'TLSv1.2' }));
    const ok = await tlsOpen(ports.amqp!, { rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    ok.destroy();
  });

  it('accepts TLS 1.2 and 1.3 by default, and nothing older', async () => {
    const { ports, ready } = await hub({ dataDir: newDir() });
    const ca = readFileSync(String(ready.caFile), 'utf8');
    const v12 = await tlsOpen(ports.mqtt!, { ca, maxVersion: 'TLSv1.2' });
    assert.equal(v12.getProtocol(), 'TLSv1.2');
    v12.destroy();
    await assert.rejects(tlsOpen(ports.mqtt!, { ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
  });

  it('reuses the CA and server certificate across restarts', async () => {
    const dataDir = newDir();
    const first = await hub({ dataDir });
    const caPem = readFileSync(join(dataDir, 'certs', 'dev-ca.pem'), 'utf8');
    const serverPem = readFileSync(join(dataDir, 'certs', 'server.pem'), 'utf8');
    assert.deepEqual(first.outpost.lines.find((l) => l.event === 'tls.dev_ca')?.created, { ca: true, server: true });
    first.outpost.child.kill('SIGTERM');
    assert.equal(await first.outpost.exited(), 0);

    const second = await hub({ dataDir });
    assert.deepEqual(second.outpost.lines.find((l) => l.event === 'tls.dev_ca')?.created, { ca: false, server: false });
    assert.equal(readFileSync(join(dataDir, 'certs', 'dev-ca.pem'), 'utf8'), caPem);
    assert.equal(readFileSync(join(dataDir, 'certs', 'server.pem'), 'utf8'), serverPem);
    const socket = await tlsOpen(second.ports.mqtt!, { ca: caPem });
    assert.equal(socket.authorized, true);
    socket.destroy();

    // A new gateway host name needs a new server certificate, signed by the same CA.
    second.outpost.child.kill('SIGTERM');
    assert.equal(await second.outpost.exited(), 0);
    const third = await hub({ dataDir, args: ['--gateway-hostname', 'renamed.example.test'] });
    assert.deepEqual(third.outpost.lines.find((l) => l.event === 'tls.dev_ca')?.created, { ca: false, server: true });
    const renamed = await tlsOpen(third.ports.mqtt!, { ca: caPem, servername: 'renamed.example.test' });
    assert.equal(renamed.authorized, true);
    renamed.destroy();
  });
});

describe('operator certificates', () => {
  it("serves the operator's chain and key and generates nothing", async () => {
    const dir = newDir();
    const caKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const serverKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const now = Date.now();
    const caPem = issueCertificate({
      subject: { commonName: 'Operator Root CA' },
      publicKey: caKeys.publicKey,
      signingKey: caKeys.privateKey,
      issuer: 'self',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      isCa: true,
    });
    const serverPem = issueCertificate({
      subject: { commonName: 'gateway.operator.test' },
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      issuer: caPem,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      extKeyUsage: ['serverAuth'],
      subjectAltNames: { dns: ['gateway.operator.test'] },
    });
    const certFile = join(dir, 'chain.pem');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(certFile, serverPem + caPem);
    writeFileSync(keyFile, serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const dataDir = join(dir, 'data');
    const { ports, ready } = await hub({ dataDir, env: { OUTPOST_TLS__CERT_FILE: certFile, OUTPOST_TLS__KEY_FILE: keyFile } });
    assert.equal(ready.certificateSource, 'operator');
    assert.equal(existsSync(join(dataDir, 'certs')), false);
    const socket = await tlsOpen(ports.mqtt!, { ca: caPem, servername: 'gateway.operator.test' });
    assert.equal(socket.authorized, true);
    socket.destroy();
    const health = await httpsGet(ports.https!, '/health', { ca: caPem, servername: 'gateway.operator.test' });
    assert.equal(health.status, 200);
  });

  it('refuses to start with a key that does not belong to the certificate', async () => {
    const dir = newDir();
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = issueCertificate({
      subject: { commonName: 'x' },
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      issuer: 'self',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    writeFileSync(join(dir, 'cert.pem'), pem);
    writeFileSync(join(dir, 'key.pem'), other.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const result = await runOutpost(['hub', '--data-dir', dir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0'], {
      env: { OUTPOST_TLS__CERT_FILE: join(dir, 'cert.pem'), OUTPOST_TLS__KEY_FILE: join(dir, 'key.pem') },
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /OUTPOST_TLS_KEY_MISMATCH/);
    assert.match(result.stderr, /key\.pem/);
  });
});

describe('listener settings and failures', () => {
  it('reports a port that cannot be bound, naming the listener, the port and the fix', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const result = await runOutpost(['hub', '--data-dir', newDir(), '--mqtt-port', String(port), '--amqp-port', '0', '--https-port', '0']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, new RegExp(`the mqtt listener cannot bind \\*:${port} \\(EADDRINUSE\\)`));
      assert.match(result.stderr, /--mqtt-port/);
      assert.match(result.stderr, /OUTPOST_LISTENER_BIND_FAILED/);
      const failed = result.lines.find((l) => l.event === 'runtime.start_failed');
      assert.equal(failed?.code, 'OUTPOST_LISTENER_BIND_FAILED');
      assert.equal(result.lines.some((l) => l.event === 'hub.ready'), false);
    } finally {
      blocker.close();
    }
  });

  it('does not bind disabled listeners and reports them as null', async () => {
    const { ports } = await hub({ dataDir: newDir(), env: { AmqpSettings__Enabled: 'false', OUTPOST_HTTPS__ENABLED: 'false' } });
    assert.equal(ports.amqp, null);
    assert.equal(ports.https, null);
    assert.equal(ports.mqttPlain, null);
    assert.ok(ports.mqtt! > 0);
  });

  it('refuses connections beyond maxConnectedClients and logs why', async () => {
    const { ports, outpost } = await hub({ dataDir: newDir(), env: { MaxConnectedClients: '2' } });
    const a = await tlsOpen(ports.mqtt!, { rejectUnauthorized: false });
    const b = await tlsOpen(ports.amqp!, { rejectUnauthorized: false });
    await assert.rejects(tlsOpen(ports.mqtt!, { rejectUnauthorized: false }));
    const refused = await outpost.waitFor((l) => l.event === 'transport.connection_refused');
    assert.equal(refused.code, 'OUTPOST_LISTENER_TOO_MANY_CLIENTS');
    a.destroy();
    b.destroy();
    await closedWithin(a, 1_000);
    // Capacity comes back once connections close.
    let reopened;
    for (let attempt = 0; attempt < 50 && reopened === undefined; attempt++) {
      reopened = await tlsOpen(ports.mqtt!, { rejectUnauthorized: false }).catch(() => undefined);
      if (reopened === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(reopened, 'a connection is accepted again after others closed');
    reopened.destroy();
  });

  it('closes a connection that sends nothing within the connect timeout', async () => {
    const { ports, outpost } = await hub({ dataDir: newDir(), args: ['--set', 'mqtt.connectTimeout=300ms'] });
    const socket = await tlsOpen(ports.mqtt!, { rejectUnauthorized: false });
    const elapsedMs = await closedWithin(socket, 5_000);
    assert.ok(elapsedMs >= 200, `closed after ${elapsedMs} ms`);
    const line = await outpost.waitFor((l) => l.code === 'OUTPOST_LISTENER_CONNECT_TIMEOUT');
    assert.equal(line.event, 'mqtt.protocol_error');
  });

  it('serves AMQP on its listener: the AMQP protocol header is answered with the hub\'s own', async () => {
    const { ports } = await hub({ dataDir: newDir() });
    const socket = await tlsOpen(ports.amqp!, { rejectUnauthorized: false });
    const header = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');
    const answer = new Promise<Buffer>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk)));
    socket.write(header);
    assert.ok((await answer).subarray(0, 8).equals(header));
    socket.destroy();
  });
});
