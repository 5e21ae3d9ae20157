/**
 * A telemetry message the store refuses (store.maxSize reached, fullPolicy refuse) is not lost: the
 * refusal is logged (telemetry.send_failed, OUTPOST_TELEMETRY_SEND_FAILED, the store's code as
 * cause), the period and its counts stay in the aggregate, and the send is tried again one scrape
 * interval later. A child `outpost hub` whose store takes one message (store.maxSize 1 byte: the
 * first message is accepted into an empty store, every later one refused).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { parseAggregate } from '../../src/telemetry/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { testScope } from '../helpers/outpost-process.js';
import { sasLogin, startSasHub, type SasHub } from '../helpers/sas-hub.js';

const scope = testScope('outpost-telemetry-full-', after);
const HUB = 'litware-hub.azure-devices.net';

async function failConnect(hub: SasHub): Promise<void> {
  const client = mqtt.connect(`mqtts://localhost:${hub.port}`, { ...sasLogin(HUB, 'AAAA', 'someone'), ca: hub.ca, reconnectPeriod: 0 });
  await new Promise<void>((resolve) => client.once('error', () => resolve()).once('close', () => resolve()));
  client.end(true);
}

describe('runtime quality telemetry and a full store', () => {
  it('keeps the period when the store refuses the message, and tries again', async () => {
    const dir = scope.newDir();
    const manifest = join(dir, 'deployment.json');
    writeFileSync(manifest, hubManifest({ all: 'FROM /* INTO $upstream' }));
    const dataDir = join(dir, 'data');
    const env = { IOTEDGE_DEVICEID: 'edge-lw-1', IOTEDGE_IOTHUBHOSTNAME: HUB, OUTPOST_TELEMETRY__SCRAPE_INTERVAL: '1s', OUTPOST_TELEMETRY__UPLOAD_INTERVAL: '2s', OUTPOST_STORE__MAX_SIZE: '1' };
    const hub = await startSasHub({ dataDir, hub: HUB, env }, 'hub', ['--deployment', manifest]);
    scope.track(hub.outpost);
    const { outpost } = hub;
    await outpost.waitFor((line) => line.event === 'telemetry.started', 30_000);

    await failConnect(hub);
    await outpost.waitFor((line) => line.event === 'telemetry.sent', 30_000);
    await failConnect(hub);
    const failed = await outpost.waitFor((line) => line.event === 'telemetry.send_failed', 30_000);
    assert.equal(failed.code, 'OUTPOST_TELEMETRY_SEND_FAILED');
    assert.equal(failed.cause, 'OUTPOST_STORE_FULL');
    const kept = parseAggregate(readFileSync(join(dataDir, 'telemetry', 'aggregate.json'), 'utf8'));
    const refused = Object.values(kept.series).find((s) => s.name === 'edgehub_client_connect_failed_total');
    assert.ok(refused?.type === 'counter' && refused.total === 1, 'the second period\'s count is kept for the next try');
    // Tried again a scrape interval later, within the same period.
    await outpost.waitFor((line) => line.event === 'telemetry.send_failed' && outpost.lines.filter((l) => l.event === 'telemetry.send_failed').length >= 2, 30_000);
    const again = parseAggregate(readFileSync(join(dataDir, 'telemetry', 'aggregate.json'), 'utf8'));
    assert.equal(again.periodStartMs, kept.periodStartMs);
    assert.ok(outpost.child.exitCode === null, 'the hub runs on');
  });
});
