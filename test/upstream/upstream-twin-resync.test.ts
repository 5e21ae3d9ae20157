/** The relay's twin gaps (docs/upstream.md, "Twin GET, the re-pull and the stored outbox"): see twin-sync-harness.ts. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import { childControl, LinkCutter, retryUntil } from './relay-harness.js';
import { setDesiredOnParent } from './twin-sync-harness.js';
import { TwoHubs } from './upstream-harness.js';

describe('the relay\'s twin gaps', () => {
  it('defers the re-pull of a reconnect sooner than upstream.minTwinSyncPeriod (MinTwinSyncPeriodSecs) to the end of the period', async (t: TestContext) => {
    const dir = tempDir('outpost-twin-resync-');
    const periodSec = 20;
    const hubs = new TwoHubs(dir.path, { OUTPOST_UPSTREAM__PROBE_INTERVAL: '200ms', MinTwinSyncPeriodSecs: String(periodSec) });
    let proxy: LinkCutter | undefined;
    t.after(async () => {
      await proxy?.cut();
      await hubs.close();
      dir.remove();
    });
    hubs.addChildIdentity('dev3');
    const parent = await hubs.startParent();
    proxy = new LinkCutter(parent.amqpPort);
    await hubs.startChild(await proxy.start());
    // Connected, not subscribed to desired patches and not asking (no GET): only the relay's
    // re-pull brings the parent's desired section into the copy here.
    const firstVersion = await setDesiredOnParent(hubs, 'dev3', { before: 1 });
    await hubs.connectToChild('dev3');
    const copy = async () => ((await childControl(hubs).call('GET', '/v1/twins/dev3')).body as any).properties.desired;
    // The first attach re-pulls.
    await retryUntil('the first re-pull in the copy here', async () => ((await copy()).$version >= firstVersion ? true : undefined));

    const proxyPort = proxy.port;
    await proxy.cut();
    await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.disconnected', 30_000);
    const missedVersion = await setDesiredOnParent(hubs, 'dev3', { missed: true });
    await proxy.start(proxyPort);
    const deferred = await hubs.child!.outpost.waitFor((line) => line.event === 'upstream.twin_sync_deferred' && line.twinId === 'dev3', 30_000);
    assert.ok(Number(deferred.inMs) > 0 && Number(deferred.inMs) <= periodSec * 1000, `deferred by ${String(deferred.inMs)} ms`);
    const seenMs = await retryUntil('the missed change in the copy here at the end of the period', async () => ((await copy()).missed === true ? Date.now() : undefined), periodSec * 1000 + 30_000, 100);
    const due = hubs.child!.outpost.lines.find((line) => line.event === 'upstream.twin_sync_due' && line.twinId === 'dev3');
    assert.ok(due !== undefined, 'the deferred re-pull ran');
    assert.ok(seenMs >= Date.parse(String(due.time)), 'the missed change came with the deferred re-pull, not with the reconnect');
    assert.equal((await copy()).$version, missedVersion);
  });
});
