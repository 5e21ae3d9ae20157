/**
 * SessionTickets (the ticket key of a TLS listener: in memory, rotated) on a real tls.Server, and
 * PeerChainCache's bounds (lifetime, size). The hub-level behaviour, X.509 included, is in
 * session-resumption.test.ts.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import tls, { type DetailedPeerCertificate } from 'node:tls';
import { PeerChainCache, SessionTickets } from '../../src/tls/index.js';
import { makeCertificate } from '../auth/auth-test-helpers.js';

const server = makeCertificate({ commonName: 'localhost', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });

async function listen(t: TestContext, tickets: SessionTickets): Promise<{ port: number; server: tls.Server }> {
  const s = tls.createServer({ cert: server.pem, key: server.keyPem, ...tickets.serverOptions() }, (socket) => socket.end('x'));
  tickets.attach(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    tickets.close();
    s.close();
  });
  return { port: (s.address() as AddressInfo).port, server: s };
}

/** One connection; resolves with whether it resumed and the last session it was handed. */
function connect(port: number, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let last: Buffer | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, ca: server.pem, servername: 'localhost', ...(session === undefined ? {} : { session }) });
    socket.on('session', (s: Buffer) => (last = s));
    socket.on('error', reject);
    socket.on('data', () => undefined);
    socket.on('end', () => {
      const reused = socket.isSessionReused();
      socket.end();
      resolve({ reused, session: last });
    });
  });
}

describe('SessionTickets', () => {
  it('a ticket resumes until the key rotates; a ticket of the new key resumes again', async (t) => {
    const tickets = new SessionTickets(3_600_000);
    const { port } = await listen(t, tickets);
    const first = await connect(port);
    assert.equal(first.reused, false);
    assert.equal((await connect(port, first.session)).reused, true);
    tickets.rotate();
    const afterRotation = await connect(port, first.session);
    assert.equal(afterRotation.reused, false, 'a ticket sealed under the old key must not resume');
    assert.equal((await connect(port, afterRotation.session)).reused, true);
  });

  it('the session timeout is the lifetime, in seconds', () => {
    assert.equal(new SessionTickets(3_600_000).serverOptions().sessionTimeout, 3600);
    assert.equal(new SessionTickets(1).serverOptions().sessionTimeout, 1);
  });

  it('off (lifetime 0): nothing resumes', async (t) => {
    const tickets = new SessionTickets(0);
    assert.equal(tickets.enabled, false);
    const { port } = await listen(t, tickets);
    const first = await connect(port);
    const again = await connect(port, first.session);
    assert.equal(again.reused, false);
  });
});

describe('PeerChainCache', () => {
  const leaf = (fingerprint: string, issuer?: DetailedPeerCertificate): DetailedPeerCertificate => {
    const node = { fingerprint256: fingerprint, raw: Buffer.from(fingerprint), subject: {}, issuer: {} } as unknown as DetailedPeerCertificate;
    (node as { issuerCertificate?: DetailedPeerCertificate }).issuerCertificate = issuer;
    return node;
  };
  const intermediate = leaf('II');

  it('gives a resumed leaf the chain it came with, until the lifetime has passed', () => {
    let now = 0;
    const cache = new PeerChainCache(1000, 10, () => now);
    cache.complete(leaf('L1', intermediate), false);
    assert.equal(cache.complete(leaf('L1'), true).issuerCertificate, intermediate);
    assert.equal(cache.complete(leaf('L2'), true).issuerCertificate, undefined, 'another leaf gets nothing');
    assert.equal(cache.complete(leaf('L1'), false).issuerCertificate, undefined, 'a full handshake keeps what it sent');
    now = 1001;
    assert.equal(cache.complete(leaf('L1'), true).issuerCertificate, undefined, 'no ticket outlives the lifetime');
  });

  it('keeps at most maxEntries, dropping the oldest, and shares one chain between leaves', () => {
    const cache = new PeerChainCache(60_000, 2, () => 0);
    for (const name of ['A', 'B', 'C']) cache.complete(leaf(name, leaf('II')), false);
    assert.equal(cache.size, 2);
    assert.equal(cache.complete(leaf('A'), true).issuerCertificate, undefined);
    assert.equal(cache.complete(leaf('B'), true).issuerCertificate, cache.complete(leaf('C'), true).issuerCertificate);
  });

  it('does not remember a self-signed leaf (its issuer is itself)', () => {
    const cache = new PeerChainCache(60_000, 10, () => 0);
    const self = leaf('S');
    (self as { issuerCertificate: DetailedPeerCertificate }).issuerCertificate = self;
    cache.complete(self, false);
    assert.equal(cache.size, 0);
  });
});
