import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConnectionRegistry, HttpsListener, sendJson } from '../../src/hub/transport/index.js';
import { createLogger } from '../../src/log/index.js';
import { ensureDevCertificates } from '../../src/tls/index.js';
import { tempDir } from '../helpers/outpost-process.js';
import { httpsGet } from './tls-client.js';

const dir = tempDir('outpost-https-');
const logger = createLogger({ level: 'silent' });
let certs: ReturnType<typeof ensureDevCertificates>;
before(() => {
  certs = ensureDevCertificates({ dataDir: dir.path, hostnames: [], logger });
});
after(() => dir.remove());

async function listener(): Promise<{ https: HttpsListener; port: number }> {
  const https = new HttpsListener({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: certs.certPem, key: certs.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' },
    connectTimeoutMs: 5_000,
    registry: new ConnectionRegistry(100, logger),
    logger,
  });
  https.route('GET', '/slow', (_request, response) => {
    setTimeout(() => sendJson(response, 200, { done: true }), 300);
  });
  https.route('GET', '/never', () => undefined);
  https.route('GET', '/throws', () => {
    throw new Error('boom');
  });
  return { https, port: await https.listen() };
}

describe('HTTPS listener shutdown', () => {
  it('answers a request in flight before it closes', async () => {
    const { https, port } = await listener();
    const pending = httpsGet(port, '/slow', { ca: certs.caPem });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedMs = Date.now();
    await https.shutdown(Date.now() + 5_000);
    assert.ok(Date.now() - startedMs >= 150, 'shutdown waited for the request');
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { done: true });
    assert.equal(response.headers.connection, 'close');
  });

  it('gives up on a request that never finishes at the deadline', async () => {
    const { https, port } = await listener();
    const pending = httpsGet(port, '/never', { ca: certs.caPem });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedMs = Date.now();
    await https.shutdown(Date.now() + 200);
    const elapsedMs = Date.now() - startedMs;
    assert.ok(elapsedMs >= 150 && elapsedMs < 2_000, `shutdown took ${elapsedMs} ms`);
    await assert.rejects(pending, /socket hang up|ECONNRESET/);
  });

  it('answers 500 when a handler throws and keeps serving', async () => {
    const { https, port } = await listener();
    assert.equal((await httpsGet(port, '/throws', { ca: certs.caPem })).status, 500);
    assert.equal((await httpsGet(port, '/missing', { ca: certs.caPem })).status, 404);
    await https.shutdown(Date.now() + 1_000);
  });
});
