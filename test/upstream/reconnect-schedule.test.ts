import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { ReconnectSchedule, type ReconnectScheduleOptions } from '../../src/hub/upstream/index.js';

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

function schedule(overrides: Partial<ReconnectScheduleOptions>): ReconnectSchedule {
  return new ReconnectSchedule({
    host: '127.0.0.1',
    port: 1,
    reconnectMinMs: 60_000,
    reconnectMaxMs: 60_000,
    probeIntervalMs: 20,
    connect: () => undefined,
    busy: () => false,
    reachable: () => undefined,
    ...overrides,
  });
}

describe('ReconnectSchedule (upstream link and MQTT bridge)', () => {
  it('backs off from reconnectMin, doubling up to reconnectMax, and starts again after a success', () => {
    const s = schedule({ reconnectMinMs: 1_000, reconnectMaxMs: 5_000 });
    try {
      const delays = [1, 2, 3, 4, 5].map(() => s.failed(false).retryInMs);
      assert.deepEqual(delays, [1_000, 2_000, 4_000, 5_000, 5_000]);
      s.succeeded();
      assert.equal(s.failed(false).retryInMs, 1_000);
    } finally {
      s.close();
    }
  });

  it('logs each of the first three attempts, then one per reconnectMax', () => {
    const s = schedule({ reconnectMinMs: 1_000, reconnectMaxMs: 60_000 });
    try {
      const logged = [1, 2, 3, 4, 5].map(() => {
        s.attempting();
        return s.failed(false).log;
      });
      assert.deepEqual(logged, [true, true, true, false, false]);
    } finally {
      s.close();
    }
  });

  it('probes an unreachable parent and reconnects as soon as it answers, not at the backoff', async () => {
    const port = await freePort();
    let connects = 0;
    let reachable = 0;
    let connected!: () => void;
    const reconnected = new Promise<void>((resolve) => (connected = resolve));
    const s = schedule({ port, connect: () => (connects++, connected()), reachable: () => void reachable++ });
    const parent = createServer((socket) => socket.destroy());
    try {
      s.failed(true);
      await new Promise((resolve) => setTimeout(resolve, 100)); // a few probes find nothing
      assert.equal(connects, 0);
      await listen(parent, port);
      const deadline = new Promise((_, reject) => setTimeout(() => reject(new Error('no reconnect within 10 s of the parent answering')), 10_000).unref());
      await Promise.race([reconnected, deadline]);
      assert.equal(connects, 1);
      assert.equal(reachable, 1);
    } finally {
      s.close();
      await close(parent);
    }
  });

  it('does not probe a parent that refused (it is there and said no)', async () => {
    let probes = 0;
    const parent = createServer((socket) => {
      probes++;
      socket.destroy();
    });
    const port = await listen(parent);
    let connects = 0;
    const s = schedule({ port, connect: () => void connects++ });
    try {
      s.failed(false);
      // Ten probe intervals: an armed probe would have connected in the first.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(probes, 0);
      assert.equal(connects, 0);
    } finally {
      s.close();
      await close(parent);
    }
  });
});
