/**
 * The WebSocket engine behind its interface (src/hub/transport/websocket/websocket-engine.ts), on a
 * real HTTPS listener with TLS and the ws client: `ws` serves, and the `websocket.server` line says
 * so and whether an operator installed uWebSockets.js. Installed or not, ws serves (this build has
 * no uWebSockets.js engine), and an installed uWebSockets.js is only looked up, never loaded: the
 * package planted here throws if any of its code runs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { Writable, type Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { ConnectionRegistry, HttpsListener, WebSocketUpgrade, type ConnectionInfo } from '../../src/hub/transport/index.js';
import { createLogger } from '../../src/log/index.js';
import { ensureDevCertificates } from '../../src/tls/index.js';
import { tempDir } from '../helpers/outpost-process.js';

const dir = tempDir('outpost-ws-engine-');
after(() => dir.remove());
const certs = ensureDevCertificates({ dataDir: dir.path, hostnames: [], logger: createLogger({ level: 'silent' }) });

/** A listener with a WebSocketUpgrade that looks for uWebSockets.js from `resolveFrom`; its log lines are kept. */
async function serve(
  resolveFrom: string,
  onRequest: (request: IncomingMessage) => void = () => undefined,
): Promise<{ lines: Record<string, unknown>[]; port: number; handed: Promise<{ stream: Duplex; info: ConnectionInfo }>; close: () => Promise<void> }> {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const https = new HttpsListener({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: certs.certPem, key: certs.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' },
    connectTimeoutMs: 5_000,
    registry: new ConnectionRegistry(100, logger),
    logger,
  });
  let onHanded: (value: { stream: Duplex; info: ConnectionInfo }) => void = () => undefined;
  const handed = new Promise<{ stream: Duplex; info: ConnectionInfo }>((resolve) => (onHanded = resolve));
  const adapter = { handle: (stream: Duplex, info: ConnectionInfo) => onHanded({ stream, info }) };
  const upgrade = new WebSocketUpgrade({ protocols: new Map([['mqtt', { adapter, listener: 'mqttWs', connectTimeoutMs: 5_000 }]]), maxMessageBytes: 1024 * 1024, logger, resolveEngineFrom: resolveFrom });
  assert.equal(upgrade.engineName, 'ws');
  https.upgrade((request, socket, head) => {
    onRequest(request);
    upgrade.handleUpgrade(request, socket, head);
  });
  const port = await https.listen();
  return { lines, port, handed, close: () => https.shutdown(Date.now() + 2_000) };
}

/** A WebSocket client through the served path: its first message must reach the adapter's stream. */
async function echoThrough(port: number, handed: Promise<{ stream: Duplex; info: ConnectionInfo }>): Promise<void> {
  const client = new WebSocket(`wss://127.0.0.1:${port}/$iothub/websocket`, ['mqtt'], { ca: certs.caPem });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    const { stream, info } = await handed;
    assert.equal(info.listener, 'mqttWs');
    const data = new Promise<Buffer>((resolve) => stream.once('data', resolve));
    client.send(Buffer.from([0x10, 0x00]));
    assert.deepEqual([...(await data)], [0x10, 0x00]);
    stream.destroy();
  } finally {
    client.terminate();
  }
}

describe('the WebSocket engine', () => {
  it('without uWebSockets.js installed, ws serves and the log line says so', async () => {
    const empty = join(dir.path, 'plain');
    mkdirSync(empty);
    const site = await serve(join(empty, 'outpost.js'));
    try {
      const line = site.lines.find((l) => l.event === 'websocket.server');
      assert.deepEqual({ server: line?.server, uWebSocketsJs: line?.uWebSocketsJs }, { server: 'ws', uWebSocketsJs: 'not installed' });
      await echoThrough(site.port, site.handed);
    } finally {
      await site.close();
    }
  });

  it('with uWebSockets.js installed, it is found but not loaded, ws serves, and the log line says why', async () => {
    const root = join(dir.path, 'operator');
    const pkg = join(root, 'node_modules', 'uWebSockets.js');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'uWebSockets.js', version: '20.0.0', main: 'uws.js' }));
    writeFileSync(join(pkg, 'uws.js'), "throw new Error('uWebSockets.js must not be loaded');\n");
    const site = await serve(join(root, 'outpost.js'));
    try {
      const line = site.lines.find((l) => l.event === 'websocket.server');
      assert.equal(line?.server, 'ws');
      assert.equal(line?.uWebSocketsJs, 'installed, not used');
      assert.equal(line?.path, join(pkg, 'uws.js'));
      assert.match(String(line?.reason), /no uWebSockets\.js engine/);
      await echoThrough(site.port, site.handed);
    } finally {
      await site.close();
    }
  });

  it('an open WebSocket does not keep its upgrade request (headers and raw headers) alive', async () => {
    const empty = join(dir.path, 'retained');
    mkdirSync(empty);
    let request: WeakRef<IncomingMessage> | undefined;
    const site = await serve(join(empty, 'outpost.js'), (r) => (request = new WeakRef(r)));
    const client = new WebSocket(`wss://127.0.0.1:${site.port}/$iothub/websocket`, ['mqtt'], { ca: certs.caPem });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('open', () => resolve());
        client.once('error', reject);
      });
      const { stream } = await site.handed;
      assert.notEqual(request?.deref(), undefined, 'the request was seen');
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 5 && request?.deref() !== undefined; i += 1) {
        await turn();
        gc();
      }
      assert.equal(request?.deref(), undefined, 'the upgrade request is still reachable while its WebSocket is open');
      assert.equal(stream.destroyed, false, 'the connection is still open');
      stream.destroy();
    } finally {
      client.terminate();
      await site.close();
    }
  });
});
