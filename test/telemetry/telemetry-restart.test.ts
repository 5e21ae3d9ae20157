/**
 * The telemetry aggregate lives in <dataDir>/telemetry/aggregate.json across restarts of a child
 * `outpost hub`: what one process counted is still there after the next starts, and the next
 * process's counters (which start at 0 again) add to it rather than replace it. A corrupt
 * aggregate is reported (telemetry.aggregate_corrupt with its code), moved aside and replaced; the
 * hub starts normally.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { parseAggregate, type AggregateState } from '../../src/telemetry/index.js';
import { eventually } from '../helpers/eventually.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { stopGracefully, testScope } from '../helpers/outpost-process.js';
import { sasLogin, startSasHub, type SasHub, type SasHubSite } from '../helpers/sas-hub.js';

const scope = testScope('outpost-telemetry-restart-', after);
const HUB = 'northwind-hub.azure-devices.net';
const CLIENT = 'intruder-5';

function setUp(): { site: SasHubSite; manifest: string; aggregateFile: string } {
  const dir = scope.newDir();
  const manifest = join(dir, 'deployment.json');
  writeFileSync(manifest, hubManifest({}));
  // The upload interval is far away: these tests watch the aggregate, not the message.
  const env = { IOTEDGE_DEVICEID: 'edge-nw-2', IOTEDGE_IOTHUBHOSTNAME: HUB, OUTPOST_TELEMETRY__SCRAPE_INTERVAL: '1s', OUTPOST_TELEMETRY__UPLOAD_INTERVAL: '1h' };
  const dataDir = join(dir, 'data');
  return { site: { dataDir, hub: HUB, env }, manifest, aggregateFile: join(dataDir, 'telemetry', 'aggregate.json') };
}

async function start(site: SasHubSite, manifest: string): Promise<SasHub> {
  const hub = await startSasHub(site, 'hub', ['--deployment', manifest]);
  scope.track(hub.outpost);
  return hub;
}

/** One CONNECT the hub refuses: edgehub_client_connect_failed_total (tagged) counts it. */
async function failConnect(hub: SasHub): Promise<void> {
  const client = mqtt.connect(`mqtts://localhost:${hub.port}`, { ...sasLogin(HUB, 'AAAA', CLIENT), ca: hub.ca, reconnectPeriod: 0 });
  await new Promise<void>((resolve) => client.once('error', () => resolve()).once('close', () => resolve()));
  client.end(true);
}

function read(file: string): AggregateState | undefined {
  try {
    return parseAggregate(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function failedConnects(state: AggregateState | undefined): number | undefined {
  const series = Object.values(state?.series ?? {}).find((s) => s.name === 'edgehub_client_connect_failed_total');
  return series?.type === 'counter' ? series.total : undefined;
}

describe('runtime quality telemetry aggregate', () => {
  it('survives a hub restart and adds the next process\'s counts to it', async () => {
    const { site, manifest, aggregateFile } = setUp();
    const first = await start(site, manifest);
    await failConnect(first);
    await eventually(() => (failedConnects(read(aggregateFile)) === 1 ? true : undefined), 30_000, 'the refused connect in the aggregate');
    await stopGracefully(first.outpost);
    const kept = read(aggregateFile);
    assert.equal(failedConnects(kept), 1);
    assert.equal(kept?.processStarts, 1);
    const label = Object.values(kept!.series).find((s) => s.name === 'edgehub_client_connect_failed_total')!.labels.id!;
    assert.match(label, /^sha256:[0-9a-f]{32}$/, 'the client id is hashed before it is stored');
    assert.ok(!readFileSync(aggregateFile, 'utf8').includes(CLIENT));

    const second = await start(site, manifest);
    // The new process counts from 0: one more refusal is 2 in the aggregate (not 1, which would
    // mean the first process's count was lost, nor 3).
    await failConnect(second);
    const state = await eventually(() => {
      const current = read(aggregateFile);
      return failedConnects(current) === 2 ? current : undefined;
    }, 30_000, 'two refused connects in the aggregate');
    assert.equal(state.processStarts, 2);
    assert.equal(state.periodStartMs, kept!.periodStartMs, 'a restart does not start a new period');
    const series = Object.values(state.series).filter((s) => s.name === 'edgehub_client_connect_failed_total');
    assert.equal(series.length, 1, 'the same salt hashes the client id alike after the restart');
    await stopGracefully(second.outpost);
  });

  it('reports a corrupt aggregate, moves it aside and starts a new one', async () => {
    const { site, manifest, aggregateFile } = setUp();
    const first = await start(site, manifest);
    await eventually(() => read(aggregateFile), 30_000, 'the aggregate file');
    await stopGracefully(first.outpost);
    const garbage = '{"format":1,"instanceId":"x","series":{"k":{"name":"c","type":"counter"';
    writeFileSync(aggregateFile, garbage);

    const second = await start(site, manifest);
    const reported = await second.outpost.waitFor((line) => line.event === 'telemetry.aggregate_corrupt', 30_000);
    assert.equal(reported.code, 'OUTPOST_TELEMETRY_AGGREGATE_CORRUPT');
    assert.equal(reported.level, 'error');
    await second.outpost.waitFor((line) => line.event === 'telemetry.started', 30_000);
    assert.equal(readFileSync(`${aggregateFile}.corrupt`, 'utf8'), garbage);
    const fresh = read(aggregateFile);
    assert.ok(fresh !== undefined, 'a valid aggregate replaced the corrupt one');
    assert.equal(fresh.processStarts, 1);
    // And collection goes on in it.
    await failConnect(second);
    await eventually(() => (failedConnects(read(aggregateFile)) === 1 ? true : undefined), 30_000, 'the refused connect in the new aggregate');
    assert.ok(existsSync(`${aggregateFile}.corrupt`));
    await stopGracefully(second.outpost);
  });
});
