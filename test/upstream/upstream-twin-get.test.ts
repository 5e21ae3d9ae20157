/** The relay's twin gaps (docs/upstream.md, "Twin GET, the re-pull and the stored outbox"): see twin-sync-harness.ts. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { LinkCutter, retryUntil } from './relay-harness.js';
import { setDesiredOnParent, twinGet } from './twin-sync-harness.js';
import { TwoHubs } from './upstream-harness.js';

describe('the relay\'s twin gaps', () => {
  it('asks the parent on a client\'s twin GET; answers from the copy here when the link is cut or the parent is slow', async (t: TestContext) => {
    const dir = tempDir('outpost-twin-get-');
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms', OUTPOST_UPSTREAM__TWIN_GET_TIMEOUT: '2s' });
    let proxy: LinkCutter | undefined;
    t.after(async () => {
      await proxy?.cut();
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev2');
    const parent = await hubs.startParent();
    proxy = new LinkCutter(parent.amqpPort);
    await hubs.startChild(await proxy.start());
    // Not subscribed to desired patches: only a GET can tell the client what changed on the parent.
    const device = await hubs.connectToChild('dev2');
    await device.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    await setDesiredOnParent(hubs, 'dev2', { a: 1 });
    let n = 0;
    await retryUntil('the relay attached (a GET sees the parent\'s desired)', async () => ((await twinGet(device, `w${n++}`)).body.desired.a === 1 ? true : undefined));

    const version = await setDesiredOnParent(hubs, 'dev2', { a: 2, b: 'x' });
    const relayed = await twinGet(device, 'g1');
    assert.equal(relayed.status, 200);
    assert.equal(relayed.body.desired.a, 2, 'the GET went to the parent: the copy here still has a = 1');
    assert.equal(relayed.body.desired.$version, version);

    proxy.stall();
    await setDesiredOnParent(hubs, 'dev2', { a: 3 });
    const askedMs = Date.now();
    const slow = await twinGet(device, 'g2');
    assert.equal(slow.status, 200);
    assert.equal(slow.body.desired.a, 2, 'the parent is silent: the copy here answers (taken from the parent at the last GET)');
    assert.ok(slow.atMs - askedMs >= 1_500, `answered after the 2 s upstream.twinGetTimeout, not before (${slow.atMs - askedMs} ms)`);

    await proxy.cut();
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.disconnected', 60_000);
    const cutAskedMs = Date.now();
    const offline = await twinGet(device, 'g3');
    assert.equal(offline.status, 200);
    assert.equal(offline.body.desired.a, 2);
    assert.ok(offline.atMs - cutAskedMs < 1_500, `the link is down: answered at once, without waiting for the parent (${offline.atMs - cutAskedMs} ms)`);
  });
});
