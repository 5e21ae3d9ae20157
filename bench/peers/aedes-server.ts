// Aedes (npm), the Node.js reference peer, as its own process so the harness measures its RSS and
// CPU exactly as it measures Mosquitto's and Outpost's. In-memory persistence (Aedes' default), no
// authentication, plain TCP on loopback.
//   node dist/bench/peers/aedes-server.js [--port N]   (0 or absent: a free port)
// Prints one JSON line {"event":"aedes.ready","port":N,"version":"…"} once listening.
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Aedes } from 'aedes';

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1] ?? 0) : 0;

const require = createRequire(import.meta.url);
// aedes/package.json is not in the package's exports map; read it beside the entry point.
const packageJson = join(dirname(require.resolve('aedes')), 'package.json');
const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(`${JSON.stringify({ event: 'aedes.ready', port: bound, version })}\n`);
});

const shutdown = (): void => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
