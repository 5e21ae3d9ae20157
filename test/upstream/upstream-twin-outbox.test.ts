/** The relay's twin gaps (docs/upstream.md, "Twin GET, the re-pull and the stored outbox"): see twin-sync-harness.ts. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { stopQuietly, tempDir } from '../helpers/outpost-process.js';
import { retryUntil } from './relay-harness.js';
import { parentReported, reportOverMqtt } from './twin-sync-harness.js';
import { TwoHubs } from './upstream-harness.js';

describe('the relay\'s twin gaps', () => {
  it('sends a reported patch answered while the parent was down after the child restarted (kill -9 of both)', async (t: TestContext) => {
    const dir = tempDir('outpost-twin-outbox-');
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms' });
    t.after(async () => {
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev1');
    const first = await hubs.startParent();
    await hubs.startChild();
    const device = await hubs.connectToChild('dev1');
    await device.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    assert.equal(await reportOverMqtt(device, 'r1', { online: 1 }), 204);
    await retryUntil('the first reported patch at the parent', async () => ((await parentReported(hubs, 'dev1')).online === 1 ? true : undefined));

    await hubs.killParent();
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.disconnected', 30_000);
    // Answered by the child (durable there); the parent cannot take it now.
    assert.equal(await reportOverMqtt(device, 'r2', { offline: 1, online: null }), 204);
    assert.equal(await reportOverMqtt(device, 'r3', { offline: 2 }), 204);
    device.end(true);
    await stopQuietly(hubs.child!.outpost);

    await hubs.startParent(first.amqpPort);
    await hubs.startChild();
    // No client of dev1 is connected on the child now: the stored outbox alone brings it up.
    const reported = await retryUntil('the patches reported while the parent was down', async () => {
      const r = await parentReported(hubs, 'dev1');
      return r.offline === 2 ? r : undefined;
    });
    assert.equal(reported.online, undefined, 'the null of the stored patch removed the key on the parent');
    // r2 and r3 were stored folded as one patch (src/hub/twin/twin-patch.ts, appendFolded).
    assert.ok(hubs.child!.outpost.lines.some((line) => line.event === 'upstream.outbox_loaded' && line.patches === 1));
  });
});
