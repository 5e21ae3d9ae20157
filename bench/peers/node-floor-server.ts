// The floor of a connection storm in Node: a bare `net` server that does only what every MQTT
// broker on Node must do per connection (accept a socket, read one CONNECT, write a CONNACK, answer
// PINGREQ, close on DISCONNECT), with no session, no authentication, no registry and no logging.
// It is not a broker: it only answers the storm scenarios (mqtt-connect-storm), and is named only
// by `--target node-floor`, never a default target. What Outpost spends per connection above this
// is Outpost's own work; what this costs against Mosquitto is Node's (issue 20, docs/benchmarks.md
// "Connection storms").
//   node dist/bench/peers/node-floor-server.js [--port N]   (0 or absent: a free port)
// Prints one JSON line {"event":"node-floor.ready","port":N,"version":"<node version>"} once listening.
import { createServer, type Socket } from 'node:net';

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1] ?? 0) : 0;

const CONNECT = 1;
const PINGREQ = 12;
const DISCONNECT = 14;
const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);

/** Bytes of the fixed header and the packet's whole length, or undefined while incomplete. */
function packetLength(buffer: Buffer): number | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i < 5; i += 1) {
    if (i >= buffer.length) return undefined;
    const byte = buffer[i]!;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return i + 1 + remaining;
    multiplier *= 128;
  }
  return Number.NaN;
}

function onConnection(socket: Socket): void {
  let pending: Buffer | undefined;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    let buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const length = packetLength(buffer);
      if (length === undefined || buffer.length < length) break;
      if (Number.isNaN(length)) {
        socket.destroy();
        return;
      }
      const type = buffer[0]! >> 4;
      if (type === CONNECT) socket.write(CONNACK_ACCEPTED);
      else if (type === PINGREQ) socket.write(PINGRESP);
      else if (type === DISCONNECT) {
        socket.end();
        return;
      }
      buffer = buffer.subarray(length);
    }
    pending = buffer.length === 0 ? undefined : buffer;
  });
}

// noDelay as Outpost's listeners set it (a CONNACK must not wait for Nagle).
const server = createServer({ noDelay: true }, onConnection);
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(`${JSON.stringify({ event: 'node-floor.ready', port: bound, version: process.version })}\n`);
});

const shutdown = (): void => {
  server.close();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
