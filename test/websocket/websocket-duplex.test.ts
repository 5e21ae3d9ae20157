/**
 * The WebSocket byte stream in-process, on a real HTTPS listener with TLS and the ws client:
 * a protocol handler that stops reading makes the hub stop reading the socket (the client's data
 * waits on the client, not in the hub's memory), and once it reads again every byte arrives in
 * order, across message boundaries.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ConnectionRegistry, HttpsListener, WebSocketUpgrade, type ConnectionInfo } from '../../src/hub/transport/index.js';
import { createLogger } from '../../src/log/index.js';
import { ensureDevCertificates } from '../../src/tls/index.js';
import { tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-ws-duplex-');
const logger = createLogger({ level: 'silent' });
const MAX_MESSAGE_BYTES = 256 * 1024;
let certs: ReturnType<typeof ensureDevCertificates>;
let https: HttpsListener;
let port = 0;
/** Streams the listener handed over, in order. */
const handed: { stream: Duplex; info: ConnectionInfo }[] = [];
let onHanded: (() => void) | undefined;

before(async () => {
  certs = ensureDevCertificates({ dataDir: dir.path, hostnames: [], logger });
  https = new HttpsListener({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: certs.certPem, key: certs.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' },
    connectTimeoutMs: 5_000,
    registry: new ConnectionRegistry(100, logger),
    logger,
  });
  // The protocol side of the seam: it takes the stream and, like an adapter busy elsewhere, does not read yet.
  const adapter = {
    handle(stream: Duplex, info: ConnectionInfo) {
      stream.pause();
      handed.push({ stream, info });
      onHanded?.();
    },
  };
  https.upgrade(new WebSocketUpgrade({ protocols: new Map([['mqtt', { adapter, listener: 'mqttWs', connectTimeoutMs: 5_000 }]]), maxMessageBytes: MAX_MESSAGE_BYTES, logger }).handleUpgrade);
  port = await https.listen();
});
after(async () => {
  for (const { stream } of handed) stream.destroy();
  await https.shutdown(Date.now() + 2_000);
  dir.remove();
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves once `value` has not changed for 20 polls in a row (500 ms), failing after 30 s. */
async function settled(value: () => number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = value();
  let stable = 0;
  while (stable < 20) {
    if (Date.now() > deadline) assert.fail('the value never settled');
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = value();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}

describe('WebSocketDuplex', () => {
  it('stops reading the socket while the protocol side does not read, then delivers every byte in order', async () => {
    const arrived = new Promise<void>((resolve) => (onHanded = resolve));
    const client = new WebSocket(`wss://127.0.0.1:${port}/$iothub/websocket`, ['mqtt'], { ca: certs.caPem });
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    await arrived;
    const { stream, info } = handed.at(-1)!;
    assert.equal(info.listener, 'mqttWs');
    assert.equal(info.secure, true);

    const messageBytes = 64 * 1024;
    const count = 512; // 32 MiB
    for (let i = 0; i < count; i += 1) client.send(Buffer.alloc(messageBytes, i % 251));
    // The hub stops taking data once its reader is full, so the client's buffer stops shrinking
    // with most of the 32 MiB still in it (the kernels' socket buffers hold a few MiB). A hub that
    // read on regardless would take it all and hold it for a reader that reads nothing.
    await settled(() => client.bufferedAmount);
    assert.ok(client.bufferedAmount > 16 * 1024 * 1024, `only ${client.bufferedAmount} bytes wait in the client`);
    assert.ok(stream.readableLength <= 2 * MAX_MESSAGE_BYTES, `the hub holds ${stream.readableLength} bytes for a reader that reads nothing`);

    let received = 0;
    let inOrder = true;
    stream.on('data', (chunk: Buffer) => {
      for (let offset = 0; offset < chunk.length; offset += 4096) {
        const at = received + offset;
        if (chunk[offset] !== Math.floor(at / messageBytes) % 251) inOrder = false;
      }
      received += chunk.length;
    });
    stream.resume();
    await until(() => received === count * messageBytes, `all ${count * messageBytes} bytes (got ${received})`);
    assert.ok(inOrder, 'bytes arrived in the order they were sent');
    client.close();
  });
});
