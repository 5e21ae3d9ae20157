import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { spawnOutpost, startHub, testScope } from '../helpers/outpost-process.js';
import { closedWithin, httpsGet, tcpOpen, tlsOpen } from './tls-client.js';

const scope = testScope('outpost-shutdown-', after);
const newDir = () => scope.newDir();

describe('graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} with clients connected: closes them, logs the stop and exits 0 well within shutdownTimeout`, async () => {
      const { outpost, ports, ready } = await startHub({ command: 'run', dataDir: newDir(), args: ['--mqtt-plain-port', '0'] });
      scope.track(outpost);
      const ca = readFileSync(String(ready.caFile), 'utf8');
      const mqtt = await tlsOpen(ports.mqtt!, { ca });
      const amqp = await tlsOpen(ports.amqp!, { ca });
      const plain = await tcpOpen(ports.mqttPlain!);
      // A keep-alive HTTPS connection stays open after its request: shutdown must not wait on it.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      assert.equal((await httpsGet(ports.https!, '/health', { ca, agent })).status, 200);

      const startedMs = Date.now();
      outpost.child.kill(signal);
      const code = await outpost.exited(10_000);
      const elapsedMs = Date.now() - startedMs;
      assert.equal(code, 0);
      // shutdownTimeout defaults to 30 s; an idle gateway must not take anywhere near that.
      assert.ok(elapsedMs < 5_000, `exit took ${elapsedMs} ms`);
      await Promise.all([closedWithin(mqtt, 1_000), closedWithin(amqp, 1_000), closedWithin(plain, 1_000)]);
      agent.destroy();

      const events = outpost.lines.map((l) => l.event);
      assert.ok(events.indexOf('runtime.stopping') < events.indexOf('agent.stopped'));
      assert.ok(events.indexOf('agent.stopped') < events.indexOf('hub.stopped'));
      assert.ok(events.includes('runtime.stopped'));
      assert.equal(outpost.lines.find((l) => l.event === 'runtime.stopping')?.reason, signal);
      assert.equal(events.includes('hub.shutdown_forced'), false);
    });
  }

  it('stops accepting connections as soon as shutdown begins', async () => {
    const { outpost, ports } = await startHub({ dataDir: newDir() });
    scope.track(outpost);
    outpost.child.kill('SIGTERM');
    await outpost.waitFor((l) => l.event === 'runtime.stopping');
    assert.equal(await outpost.exited(10_000), 0);
    await assert.rejects(tlsOpen(ports.mqtt!, { rejectUnauthorized: false }), /ECONNREFUSED/);
  });

  it('honours a signal that arrives while the runtime is still starting', async () => {
    const outpost = spawnOutpost(['hub', '--data-dir', newDir(), '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0']);
    scope.track(outpost);
    await outpost.waitFor((l) => l.event === 'runtime.starting');
    outpost.child.kill('SIGTERM');
    assert.equal(await outpost.exited(10_000), 0);
    assert.ok(outpost.lines.some((l) => l.event === 'runtime.stopped'));
  });
});
