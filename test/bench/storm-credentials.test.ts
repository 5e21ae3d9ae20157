// Both load generators' storm role with a credentials file: each client sends the client id, user
// name and password of its line, in order over the processes, and nothing else; checked by a
// listener that parses every CONNECT with mqtt-packet (the reference codec) and accepts it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { StormLoad } from '../../bench/lib/storm-load.js';
import type { Login } from '../../bench/lib/sas-devices.js';
import type { RunningTarget } from '../../bench/lib/targets.js';

/** CONNACK, session present 0, return code 0 (accepted). */
const CONNACK_ACCEPTED = Buffer.from([0x20, 2, 0, 0]);

interface Seen {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly keepalive: number;
  readonly clean: boolean;
}

function fakeBroker(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((socket) => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => {
      if (packet.cmd !== 'connect') return;
      seen.push({ clientId: packet.clientId, username: packet.username, password: packet.password?.toString('utf8'), keepalive: packet.keepalive ?? -1, clean: packet.clean ?? false });
      socket.write(CONNACK_ACCEPTED);
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, seen })));
}

const logins: Login[] = Array.from({ length: 7 }, (_, i) => ({
  clientId: `dev-${i}`,
  username: `hub.example/dev-${i}/?api-version=2021-04-12`,
  // Spaces, '&', '%' and '=' as in a SAS token: the line is split on tabs only.
  password: `SharedAccessSignature sr=hub.example%2Fdevices%2Fdev-${i}&sig=abc%2B${i}%3D&se=4102444800`,
}));

describe('storm with a credentials file', { timeout: 60_000 }, () => {
  for (const loadgen of ['c', 'node'] as const) {
    it(`the ${loadgen} generator sends each line's client id, user name and password once`, async () => {
      const { server, port, seen } = await fakeBroker();
      const target: RunningTarget = { name: 'fake', host: '127.0.0.1', port, pid: undefined, version: null, stop: async () => undefined };
      try {
        const load = await StormLoad.start(target, loadgen, { clients: logins.length, processes: 2, concurrencyPerProcess: 3, keepAliveSec: 42, clientIdPrefix: 'unused', seed: 1, logins, timeoutMs: 10_000 });
        try {
          const figures = await load.connect();
          assert.equal(figures.connected, logins.length);
          assert.equal(figures.failed, 0);
        } finally {
          await load.disconnect();
        }
        const byId = [...seen].sort((a, b) => a.clientId.localeCompare(b.clientId));
        assert.deepEqual(
          byId,
          logins.map((l) => ({ clientId: l.clientId, username: l.username, password: l.password, keepalive: 42, clean: true })),
        );
      } finally {
        server.close();
      }
    });
  }

  it('without a credentials file, CONNECT carries neither user name nor password', async () => {
    const { server, port, seen } = await fakeBroker();
    const target: RunningTarget = { name: 'fake', host: '127.0.0.1', port, pid: undefined, version: null, stop: async () => undefined };
    try {
      const load = await StormLoad.start(target, 'c', { clients: 3, processes: 1, concurrencyPerProcess: 3, keepAliveSec: 60, clientIdPrefix: 'anon', seed: 1, timeoutMs: 10_000 });
      try {
        assert.equal((await load.connect()).connected, 3);
      } finally {
        await load.disconnect();
      }
      assert.equal(seen.length, 3);
      for (const s of seen) {
        assert.match(s.clientId, /^anon-0-\d-[0-9a-f]+$/);
        assert.equal(s.username, undefined);
        assert.equal(s.password, undefined);
      }
    } finally {
      server.close();
    }
  });
});
