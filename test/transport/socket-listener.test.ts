/**
 * The plain listener (SocketListener without TLS): the adapter gets each socket from the server's
 * own 'connection' listener, before the listener counts it, and is then the only one listening
 * for its errors (one listener, not an array of two per connection: issue 20's memory per idle
 * connection). A client that resets its connection makes an error only that listener sees. The
 * connection's info carries the peer's address and port, and the socket keeps no cached copy of them.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { ConnectionRegistry, SocketListener, type ConnectionInfo } from '../../src/hub/transport/index.js';
import { captureLogger } from '../tls/tls-test-helpers.js';

test('a plain socket is handed over with one error listener, the adapter\'s, which sees a reset', async (t) => {
  const log = captureLogger();
  const handed: Duplex[] = [];
  const infos: ConnectionInfo[] = [];
  const errors: string[] = [];
  let arrived: () => void = () => undefined;
  const listener = new SocketListener({
    name: 'mqttPlain',
    host: '127.0.0.1',
    port: 0,
    connectTimeoutMs: 1_000,
    adapter: {
      protocol: 'mqtt',
      handle: (stream, info) => {
        infos.push(info);
        stream.on('error', (error: NodeJS.ErrnoException) => {
          errors.push(error.code ?? error.message);
          stream.destroy();
        });
        handed.push(stream);
        arrived();
      },
      shutdown: async () => undefined,
    },
    registry: new ConnectionRegistry(100, log.logger),
    logger: log.logger,
  });
  const port = await listener.listen();
  t.after(() => listener.stopAccepting());

  const got = new Promise<void>((resolve) => (arrived = resolve));
  const client: Socket = connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  t.after(() => client.destroy());
  await got;
  await new Promise((resolve) => setImmediate(resolve));
  const server = handed[0]!;
  t.after(() => server.destroy());
  assert.equal(server.listenerCount('error'), 1, 'the adapter\'s listener only');
  assert.equal(infos[0]!.remoteAddress, '127.0.0.1');
  assert.equal(infos[0]!.remotePort, client.localPort);
  assert.equal((server as Duplex & { _peername?: unknown })._peername, undefined, 'Node\'s cached peer name is dropped');
  assert.equal((server as Socket).remoteAddress, '127.0.0.1', 'and read anew when asked');

  const closed = new Promise((resolve) => server.once('close', resolve));
  client.resetAndDestroy();
  await closed;
  assert.deepEqual(errors, ['ECONNRESET']);
});
