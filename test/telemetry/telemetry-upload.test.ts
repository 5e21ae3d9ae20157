/**
 * Runtime quality telemetry end to end: `outpost run` with a process module, a route sending
 * module messages upstream and intervals of seconds (set through the Azure variable names). A
 * leaf device fails to connect, connects, reads its twin and sends telemetry no route takes. The
 * next message of the agent waits in the `$upstream` queue (no upstream link): from
 * `<deviceId>/$edgeAgent`, JSON of the documented shape, counting that activity, and without the
 * device id, module name, leaf device name, IoT hub name, host names or addresses in its bytes.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { HubMessage } from '../../src/hub/message/index.js';
import { TELEMETRY_SCHEMA, type TelemetryReport } from '../../src/telemetry/index.js';
import { hubManifest } from '../helpers/hub-manifest.js';
import { runOutpost, testScope } from '../helpers/outpost-process.js';
import { addIdentities, connectSas, sasLogin, startSasHub, type SasHubSite } from '../helpers/sas-hub.js';
import { upstreamMessages } from './upstream-queue.js';

const scope = testScope('outpost-telemetry-upload-', after);

const DEVICE = 'edge-qx7-gateway';
const HUB = 'contoso-hub-4471.azure-devices.net';
const GATEWAY = 'gw-host-k2.example';
const MODULE = 'zebra-sensor-7f3';
const LEAF = 'leaf-thermo-9';

describe('runtime quality telemetry upload', () => {
  it('queues one anonymized message from $edgeAgent for $upstream per upload interval', async () => {
    const dir = scope.newDir();
    const dataDir = join(dir, 'data');
    const manifestFile = join(dir, 'deployment.json');
    const manifest = JSON.parse(hubManifest({ up: 'FROM /messages/modules/* INTO $upstream' })) as { modulesContent: { $edgeAgent: { 'properties.desired': { modules: Record<string, unknown> } } } };
    manifest.modulesContent.$edgeAgent['properties.desired'].modules[MODULE] = { version: '3.1', type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command: '/bin/sh', args: ['-c', 'exec sleep 600'] } } };
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const env = { IOTEDGE_DEVICEID: DEVICE, IOTEDGE_IOTHUBHOSTNAME: HUB, EdgeDeviceHostName: GATEWAY, MetricScrapeInterval: '00:00:01', MetricUploadInterval: '00:00:04' };
    const site: SasHubSite = { dataDir, hub: HUB, env };
    await addIdentities(site, [[LEAF]]);
    const hub = await startSasHub(site, 'run', ['--deployment', manifestFile]);
    scope.trackGraceful(hub.outpost);
    const started = await hub.outpost.waitFor((line) => line.event === 'telemetry.started', 30_000);
    assert.equal(started.scrapeIntervalMs, 1_000);
    assert.equal(started.uploadIntervalMs, 4_000);
    await hub.outpost.waitFor((line) => line.event === 'agent.module_started' && line.module === MODULE, 60_000);

    // A refused CONNECT (counted under the client id it sent), then the leaf's twin and a message no route takes.
    const refused = mqtt.connect(`mqtts://localhost:${hub.port}`, { ...sasLogin(HUB, 'AAAA', LEAF), ca: hub.ca, reconnectPeriod: 0 });
    await new Promise<void>((resolve) => refused.once('error', () => resolve()).once('close', () => resolve()));
    refused.end(true);
    const leaf = await connectSas(hub, site, LEAF);
    await leaf.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
    const twin = new Promise<void>((resolve) => leaf.once('message', () => resolve()));
    await leaf.publishAsync('$iothub/twin/GET/?$rid=1', '', { qos: 0 });
    await twin;
    await leaf.publishAsync(`devices/${LEAF}/messages/events/`, 'reading', { qos: 1 });
    await leaf.endAsync();

    // Every message sent after the activity counts all of it; wait for one of those.
    const sentBefore = hub.outpost.lines.filter((line) => line.event === 'telemetry.sent').length;
    await hub.outpost.waitFor((line) => line.event === 'telemetry.sent' && hub.outpost.lines.filter((l) => l.event === 'telemetry.sent').length > sentBefore, 30_000);

    const storeDir = join(dataDir, 'store');
    const stats = await runOutpost(['store', 'stats', '--json', '--data-dir', dataDir], { env });
    assert.equal(stats.code, 0, stats.stderr);
    const upstream = (JSON.parse(stats.stdout) as { endpoints: { endpoint: string; queued: number }[] }).endpoints.find((e) => e.endpoint === '$upstream');
    assert.ok(upstream !== undefined && upstream.queued >= 1, stats.stdout);

    const messages = await upstreamMessages(storeDir);
    const fromAgent = messages.filter((m) => m.systemProperties.connectionModuleId === '$edgeAgent');
    assert.ok(fromAgent.length >= 1, `no message from $edgeAgent among ${messages.length}`);
    assert.equal(fromAgent.length, messages.length, 'only the agent\'s messages go upstream here');
    assert.equal(upstream.queued, fromAgent.length);
    for (const message of fromAgent) checkMessage(message);

    const reports = fromAgent.map((m) => JSON.parse(Buffer.from(m.body).toString('utf8')) as TelemetryReport);
    const last = reports.sort((a, b) => (a.period.end < b.period.end ? -1 : 1)).at(-1)!;
    const salt = Buffer.from(readFileSync(join(dataDir, 'telemetry', 'salt'), 'utf8').trim(), 'hex');
    const hash = (value: string) => `sha256:${createHmac('sha256', salt).update(value).digest('hex').slice(0, 32)}`;
    const all = reports.flatMap((r) => r.metrics);
    const find = (name: string, labels: Record<string, string>) => all.find((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
    assert.ok(find('edgeAgent_module_start_total', { module_name: hash(MODULE), module_version: hash('3.1') }), JSON.stringify(all));
    assert.ok(find('edgehub_client_connect_failed_total', { id: hash(LEAF), reason: 'not_authenticated', protocol: 'mqtt' }), JSON.stringify(all));
    assert.ok(find('edgehub_gettwin_total', { id: hash(LEAF), source: 'edge_hub' }), JSON.stringify(all));
    const dropped = find('edgehub_messages_dropped_total', { reason: 'no_route', from: hash(LEAF) });
    assert.ok(dropped?.type === 'counter' && dropped.value === 1, JSON.stringify(all));
    assert.equal(last.schema, TELEMETRY_SCHEMA);
    assert.equal(last.runtime.name, 'outpost');
    assert.ok(last.period.scrapes >= 1 && last.period.processStarts === 1);
    assert.ok(Date.parse(last.period.start) < Date.parse(last.period.end));
  });
});

function checkMessage(message: HubMessage): void {
  assert.equal(message.source, '/messages/modules/$edgeAgent/');
  assert.equal(message.systemProperties.connectionDeviceId, DEVICE);
  assert.equal(message.systemProperties.contentType, 'application/json');
  assert.equal(message.systemProperties.contentEncoding, 'utf-8');
  assert.equal(message.systemProperties.messageSchema, TELEMETRY_SCHEMA);
  assert.deepEqual(message.properties, {});
  const body = Buffer.from(message.body).toString('latin1').toLowerCase();
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => !a.internal).map((a) => a.address));
  const hubName = HUB.split('.')[0]!;
  for (const secret of [DEVICE, MODULE, LEAF, HUB, hubName, GATEWAY, 'gw-host-k2', hostname(), ...addresses]) {
    assert.ok(!body.includes(secret.toLowerCase()), `the body contains ${secret}`);
  }
  // The body parses as the documented shape.
  const report = JSON.parse(Buffer.from(message.body).toString('utf8')) as TelemetryReport;
  assert.deepEqual(Object.keys(report).sort(), ['metrics', 'omittedSeries', 'period', 'runtime', 'schema']);
  for (const metric of report.metrics) assert.ok(['counter', 'gauge', 'histogram'].includes(metric.type));
}
