/**
 * Opting out of runtime quality telemetry: `SendRuntimeQualityTelemetry=false` (Azure's variable)
 * or `OUTPOST_TELEMETRY__ENABLED=false`. Two child hubs with the same routes (everything to
 * $upstream), intervals of a second or two and the same activity: the opted-out one is started
 * first, and checked only after the one left on has completed two upload intervals, so it has run
 * for at least as many. The one left on queued a message for $upstream (the check can fail); the
 * opted-out one queued nothing, wrote nothing under <dataDir>/telemetry and logged only that
 * telemetry is off.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { loadConfig } from '../../src/config/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, testScope } from '../helpers/outpost-process.js';
import { sasLogin, startSasHub, type SasHub, type SasHubSite } from '../helpers/sas-hub.js';
import { upstreamMessages } from './upstream-queue.js';

const scope = testScope('outpost-telemetry-opt-out-', after);
const HUB = 'adatum-hub.azure-devices.net';
const INTERVALS = { OUTPOST_TELEMETRY__SCRAPE_INTERVAL: '1s', OUTPOST_TELEMETRY__UPLOAD_INTERVAL: '2s' };

async function startSite(extraEnv: Record<string, string>): Promise<{ site: SasHubSite; hub: SasHub }> {
  const dir = scope.newDir();
  const manifest = join(dir, 'deployment.json');
  writeFileSync(manifest, hubManifest({ all: 'FROM /* INTO $upstream' }));
  const site: SasHubSite = { dataDir: join(dir, 'data'), hub: HUB, env: { IOTEDGE_DEVICEID: 'edge-ad-1', IOTEDGE_IOTHUBHOSTNAME: HUB, ...INTERVALS, ...extraEnv } };
  const hub = await startSasHub(site, 'hub', ['--deployment', manifest]);
  scope.track(hub.outpost);
  return { site, hub };
}

async function failConnect(hub: SasHub): Promise<void> {
  const client = mqtt.connect(`mqtts://localhost:${hub.port}`, { ...sasLogin(HUB, 'AAAA', 'someone'), ca: hub.ca, reconnectPeriod: 0 });
  await new Promise<void>((resolve) => client.once('error', () => resolve()).once('close', () => resolve()));
  client.end(true);
}

async function upstreamQueued(site: SasHubSite): Promise<number> {
  const stats = await runOutpost(['store', 'stats', '--json', '--data-dir', site.dataDir], { env: site.env });
  assert.equal(stats.code, 0, stats.stderr);
  return (JSON.parse(stats.stdout) as { endpoints: { endpoint: string; queued: number }[] }).endpoints.find((e) => e.endpoint === '$upstream')?.queued ?? 0;
}

describe('runtime quality telemetry opt-out', () => {
  it('accepts Azure\'s variable names and the OUTPOST_ ones', () => {
    const azure = loadConfig({ env: { SendRuntimeQualityTelemetry: 'False', MetricScrapeInterval: '00:30:00', MetricUploadInterval: '1.00:00:00' } }).config;
    assert.equal(azure.telemetry.enabled, false);
    assert.equal(azure.telemetry.scrapeInterval, 30 * 60_000);
    assert.equal(azure.telemetry.uploadInterval, 24 * 3_600_000);
    const native = loadConfig({ env: { OUTPOST_TELEMETRY__ENABLED: 'false', OUTPOST_TELEMETRY__UPLOAD_INTERVAL: '12h' } }).config;
    assert.equal(native.telemetry.enabled, false);
    assert.equal(native.telemetry.uploadInterval, 12 * 3_600_000);
    const defaults = loadConfig({ env: {} }).config.telemetry;
    assert.deepEqual(defaults, { enabled: true, scrapeInterval: 3_600_000, uploadInterval: 24 * 3_600_000 });
  });

  for (const [name, env] of [
    ['SendRuntimeQualityTelemetry=false', { SendRuntimeQualityTelemetry: 'false' }],
    ['OUTPOST_TELEMETRY__ENABLED=false', { OUTPOST_TELEMETRY__ENABLED: 'false' }],
  ] as const) {
    it(`sends nothing over several intervals with ${name}`, async () => {
      const off = await startSite(env);
      await off.hub.outpost.waitFor((line) => line.event === 'telemetry.disabled', 30_000);
      await failConnect(off.hub);

      const on = await startSite({});
      await failConnect(on.hub);
      // Two completed upload intervals of the hub left on (a period may have nothing to send).
      const done = (line: { event?: string }) => line.event === 'telemetry.sent' || line.event === 'telemetry.nothing_to_send';
      await on.hub.outpost.waitFor(() => on.hub.outpost.lines.filter(done).length >= 2 && on.hub.outpost.lines.some((l) => l.event === 'telemetry.sent'), 60_000);

      assert.ok((await upstreamQueued(on.site)) >= 1, 'the hub left on queued its message');
      assert.equal(await upstreamQueued(off.site), 0);
      assert.deepEqual(await upstreamMessages(join(off.site.dataDir, 'store')), []);
      assert.ok(!existsSync(join(off.site.dataDir, 'telemetry')), 'nothing is kept either');
      const events = off.hub.outpost.lines.map((line) => line.event ?? '').filter((event) => event.startsWith('telemetry.'));
      assert.deepEqual(events, ['telemetry.disabled']);
    });
  }
});
