import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHub, stopQuietly, tempDir, type OutpostProcess } from '../../helpers/outpost-process.js';
import { connectClient } from '../mqtt-clients.js';

const running: OutpostProcess[] = [];
const dirs: { remove: () => void }[] = [];
after(async () => {
  await Promise.all(running.map(stopQuietly));
  for (const dir of dirs) dir.remove();
});

async function hub(dataDir: string, extra: string[] = []) {
  const started = await startHub({ dataDir, args: ['--allow-anonymous', '--mqtt-plain-port', '0', ...extra] });
  running.push(started.outpost);
  return { ...started, url: `mqtt://127.0.0.1:${started.ports.mqttPlain}` };
}

describe('broker state across restarts', () => {
  it('keeps persistent sessions, their acknowledged QoS 1 messages and retained messages through kill -9', async () => {
    const dir = tempDir('outpost-persist-');
    dirs.push(dir);
    const first = await hub(dir.path);
    const sub = await connectClient(first.url, { clientId: 'durable-sub', clean: false });
    await sub.client.subscribeAsync('plant/#', { qos: 1 });
    await sub.end();
    const pub = await connectClient(first.url);
    for (let i = 0; i < 50; i++) await pub.client.publishAsync('plant/line1', `m${i}`, { qos: 1 });
    await pub.client.publishAsync('plant/status', 'running', { qos: 1, retain: true });
    await pub.end(true);
    // Every PUBACK above was sent after the write reached RocksDB's write-ahead log.
    first.outpost.child.kill('SIGKILL');
    await first.outpost.exited();

    const second = await hub(dir.path);
    const back = await connectClient(second.url, { clientId: 'durable-sub', clean: false });
    assert.equal(back.connack.sessionPresent, true);
    const got = await back.waitFor(51);
    assert.deepEqual(
      got.map((m) => m.payload),
      [...Array.from({ length: 50 }, (_, i) => `m${i}`), 'running'],
    );
    await back.end();
    const late = await connectClient(second.url);
    await late.client.subscribeAsync('plant/status', { qos: 1 });
    const [retained] = await late.waitFor(1);
    assert.equal(retained!.payload, 'running');
    assert.equal(retained!.packet.retain, true);
    await late.end();

    // Once delivered and acknowledged, nothing is delivered again after another restart.
    second.outpost.child.kill('SIGTERM');
    assert.equal(await second.outpost.exited(), 0);
    const third = await hub(dir.path);
    const again = await connectClient(third.url, { clientId: 'durable-sub', clean: false });
    assert.equal(again.connack.sessionPresent, true);
    await again.client.publishAsync('plant/marker', 'after', { qos: 1 });
    const [first3] = await again.waitFor(1);
    assert.equal(first3!.payload, 'after');
    await again.end();
  });

  it('keeps nothing across a restart with store.persistent=false', async () => {
    const dir = tempDir('outpost-volatile-');
    dirs.push(dir);
    const first = await hub(dir.path, ['--set', 'store.persistent=false']);
    const sub = await connectClient(first.url, { clientId: 'volatile-sub', clean: false });
    await sub.client.subscribeAsync('v/#', { qos: 1 });
    await sub.end();
    first.outpost.child.kill('SIGTERM');
    await first.outpost.exited();
    const second = await hub(dir.path, ['--set', 'store.persistent=false']);
    const back = await connectClient(second.url, { clientId: 'volatile-sub', clean: false });
    assert.equal(back.connack.sessionPresent, false);
    await back.end();
  });
});
