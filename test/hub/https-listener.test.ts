import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendJson } from '../../src/http/index.js';
import { ConnectionRegistry, HttpsListener } from '../../src/hub/transport/index.js';
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

/** Signals a test waits on instead of sleeping: a request reached its handler; answer it now. */
interface Hooks {
  arrived: Promise<void>;
  release: () => void;
}

async function listener(): Promise<{ https: HttpsListener; port: number; hooks: Hooks }> {
  const https = new HttpsListener({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: certs.certPem, key: certs.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' },
    connectTimeoutMs: 5_000,
    registry: new ConnectionRegistry(100, logger),
    logger,
  });
  let arrive = (): void => undefined;
  let release = (): void => undefined;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  https.route('GET', '/slow', (_request, response) => {
    arrive();
    void released.then(() => sendJson(response, 200, { done: true }));
  });
  https.route('GET', '/never', () => arrive());
  https.route('GET', '/throws', () => {
    throw new Error('boom');
  });
  return { https, port: await https.listen(), hooks: { arrived, release } };
}

describe('HTTPS listener shutdown', () => {
  it('answers a request in flight before it closes', async () => {
    const { https, port, hooks } = await listener();
    const pending = httpsGet(port, '/slow', { ca: certs.caPem });
    await hooks.arrived;
    const order: string[] = [];
    const stopped = https.shutdown(Date.now() + 5_000).then(() => order.push('stopped'));
    // The answer is released only after shutdown began: shutdown must wait for it.
    setImmediate(() => {
      order.push('answered');
      hooks.release();
    });
    await stopped;
    assert.deepEqual(order, ['answered', 'stopped'], 'shutdown waited for the request');
    const response = await pending;
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { done: true });
    assert.equal(response.headers.connection, 'close');
  });

  it('gives up on a request that never finishes at the deadline', async () => {
    const { https, port, hooks } = await listener();
    const pending = httpsGet(port, '/never', { ca: certs.caPem });
    await hooks.arrived;
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
