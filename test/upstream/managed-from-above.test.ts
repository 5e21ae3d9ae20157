/**
 * An agent managed from above and a root deploying to its child (docs/agent.md, "Managed from
 * above"; docs/upstream.md): two real Outposts on loopback, the root an `outpost hub` without
 * upstream, the child an `outpost run` (hub and agent, process runtime) whose upstream is the root.
 * The root's operator surface (the CLI and its control socket) deploys to the child, changes its
 * desired properties, and reads the status the child's agent reports.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { after, before, describe, it } from 'node:test';
import { childEnv, runOutpost, spawnOutpost, stopGracefully, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { childControl, LinkCutter, parentControl, retryUntil } from './relay-harness.js';
import { alive, modulePid, reportedAbove, systemTwin, type SystemTwin } from './system-twins.js';
import { CHILD, HUB, TwoHubs } from './upstream-harness.js';

const START_TIMEOUT_MS = 60_000;
const EDGE_AGENT = '$edgeAgent';
const EDGE_HUB = '$edgeHub';
const TO_UPSTREAM = 'FROM /messages/* INTO $upstream';
// A route that sends nothing upstream (to a module input no one reads).
const NOWHERE = 'FROM /messages/* INTO BrokeredEndpoint("/modules/nobody/inputs/in")';

/** A deployment for the child: `tiny`, a process module that prints and sleeps, and the given routes. */
function manifest(routes: Record<string, string>, tinyEnv = 'one'): string {
  const module = { type: 'process', status: 'running', restartPolicy: 'always', env: { TAG: { value: tinyEnv } }, settings: { process: { command: '/bin/sh', args: ['-c', 'echo "tiny $TAG"; exec sleep 600'] } } };
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'process', settings: {} }, systemModules: {}, modules: { tiny: module } } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
    },
  });
}

/** The child's system module twin as the root holds it. */
const twinOnRoot = (hubs: TwoHubs, moduleId: string): Promise<SystemTwin> => systemTwin(parentControl(hubs), CHILD, moduleId);
const reportedOnRoot = (hubs: TwoHubs, moduleId: string, what: string, accept: (twin: SystemTwin) => boolean): Promise<SystemTwin> => reportedAbove(parentControl(hubs), CHILD, moduleId, what, accept);

describe('a root deploys to its child; the child\'s agent is managed from above', () => {
  let dir: { path: string; remove(): void };
  let hubs: TwoHubs;
  let child: OutpostProcess;
  let sink: mqtt.MqttClient;
  let device: mqtt.MqttClient;
  let below: mqtt.MqttClient | undefined;
  let mqttPort: number;
  let ca: string;
  let cutter: LinkCutter;

  before(async () => {
    dir = tempDir('outpost-fromabove-');
    hubs = new TwoHubs(dir.path);
    // The system modules' identities, on both sides with the same keys (each identity signs its own token upstream).
    hubs.addChildIdentity(CHILD, EDGE_AGENT);
    hubs.addChildIdentity(CHILD, EDGE_HUB);
    hubs.addChildIdentity('dev-r');
    hubs.addChildIdentity('dev-m');
    const parent = await hubs.startParent();
    // The child reaches the root through a TCP proxy whose link the last test cuts.
    cutter = new LinkCutter(parent.amqpPort);
    await cutter.start();
    const env = {
      OUTPOST_DEVICE_ID: CHILD,
      OUTPOST_IOT_HUB_HOSTNAME: HUB,
      OUTPOST_UPSTREAM__HOSTNAME: 'localhost',
      OUTPOST_UPSTREAM__PORT: String(cutter.port),
      OUTPOST_UPSTREAM__CA_FILE: parent.caFile,
      OUTPOST_UPSTREAM__CONNECTION_STRING: hubs.childConnectionString(),
    };
    // `run`: hub and agent in one process, the process runtime; the local manifest sends everything upstream.
    child = spawnOutpost(['run', '--data-dir', hubs.childDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', join(dir.path, 'child.json')], { env: childEnv(env) });
    const ready = await child.waitFor((line) => line.event === 'hub.ready', START_TIMEOUT_MS);
    await child.waitFor((line) => line.event === 'agent.ready', START_TIMEOUT_MS);
    mqttPort = (ready.ports as { mqtt: number }).mqtt;
    ca = readFileSync(String(ready.caFile), 'utf8');
    sink = await hubs.connectSink();
  });

  after(async () => {
    sink?.end(true);
    device?.end(true);
    below?.end(true);
    // Gracefully: a process module outlives a killed agent by design.
    await stopGracefully(child);
    await cutter?.cut();
    await hubs?.close();
    dir?.remove();
  });

  it('before any deployment from above the child reports 417 on the root and runs no module', async () => {
    const twin = await reportedOnRoot(hubs, EDGE_AGENT, 'status 417', (t) => t.reported.lastDesiredStatus?.code === 417);
    assert.deepEqual(twin.reported.modules, {});
  });

  it('`outpost deploy --device` on the root starts the module on the child; the root sees 200 and the module running', async () => {
    const file = join(dir.path, 'to-child.json');
    writeFileSync(file, manifest({ up: TO_UPSTREAM }));
    const deployed = await runOutpost(['deploy', file, '--device', CHILD, '--data-dir', hubs.parentDir]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const twin = await reportedOnRoot(hubs, EDGE_AGENT, '200 and tiny running', (t) => t.reported.lastDesiredStatus?.code === 200 && t.reported.modules?.tiny?.runtimeStatus === 'running');
    assert.equal(twin.reported.modules.tiny.settings.process.command, '/bin/sh');
    assert.ok(alive(modulePid(hubs.childDir, 'tiny')), 'the module runs on the child');
    const hubTwin = await reportedOnRoot(hubs, EDGE_HUB, '200', (t) => t.reported.lastDesiredStatus?.code === 200);
    assert.equal(hubTwin.reported.schemaVersion, '1.0');
    // The operator's view on the root, through the CLI.
    const listed = await runOutpost(['list', '--device', CHILD, '--json', '--data-dir', hubs.parentDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).modules.tiny.runtimeStatus, 'running');
  });

  it('refuses on the root a manifest that fails validation, and on the child a local deploy', async () => {
    const before = await twinOnRoot(hubs, EDGE_AGENT);
    const file = join(dir.path, 'bad-route.json');
    writeFileSync(file, manifest({ up: 'FROM /messages/* WHERE INTO $upstream' }));
    const refused = await runOutpost(['deploy', file, '--device', CHILD, '--data-dir', hubs.parentDir]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /rejected with status 400/);
    assert.equal((await twinOnRoot(hubs, EDGE_AGENT)).desired.$version, before.desired.$version, 'nothing written');
    const local = await runOutpost(['deploy', join(dir.path, 'to-child.json'), '--data-dir', hubs.childDir]);
    assert.equal(local.code, 1);
    assert.match(local.stderr, /OUTPOST_AGENT_MANAGED_FROM_ABOVE/);
  });

  it('an invalid desired deployment set on the root is reported as 400 there, and nothing changes on the child', async () => {
    const pid = modulePid(hubs.childDir, 'tiny');
    // Straight into the desired properties, past `outpost deploy`'s validation: a module with an unknown status.
    const patch = JSON.stringify({ modules: { broken: { type: 'process', status: 'sideways', settings: { process: { command: '/bin/true' } } } } });
    const updated = await runOutpost(['twin', 'update-desired', `${CHILD}/${EDGE_AGENT}`, '--patch', patch, '--data-dir', hubs.parentDir]);
    assert.equal(updated.code, 0, updated.stderr);
    const twin = await reportedOnRoot(hubs, EDGE_AGENT, 'status 400', (t) => t.reported.lastDesiredStatus?.code === 400);
    assert.match(twin.reported.lastDesiredStatus.description, /broken/);
    assert.equal(twin.reported.modules.broken, undefined, 'not deployed');
    assert.equal(twin.reported.modules.tiny.runtimeStatus, 'running');
    assert.equal(modulePid(hubs.childDir, 'tiny'), pid, 'the running module was not touched');
    assert.ok(alive(pid));
    // Repaired from the root: the next valid deployment is applied and reported 200.
    const repaired = await runOutpost(['twin', 'update-desired', `${CHILD}/${EDGE_AGENT}`, '--patch', JSON.stringify({ modules: { broken: null } }), '--data-dir', hubs.parentDir]);
    assert.equal(repaired.code, 0, repaired.stderr);
    await reportedOnRoot(hubs, EDGE_AGENT, 'status 200 again', (t) => t.reported.lastDesiredStatus?.code === 200);
    assert.equal(modulePid(hubs.childDir, 'tiny'), pid);
  });

  it('a route change through $edgeHub desired takes effect on the child without a restart', async () => {
    const login = (await import('../helpers/sas-hub.js')).sasLogin(HUB, hubs.key(hubs.childRegistry, 'dev-r'), 'dev-r');
    const { default: mqttjs } = await import('mqtt');
    device = mqttjs.connect(`mqtts://localhost:${mqttPort}`, { ...login, ca, reconnectPeriod: 0 });
    device.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      device.once('connect', () => resolve());
      device.once('error', reject);
    });
    const topic = 'devices/dev-r/messages/events/';
    // Routed upstream now (the deployment of the first test): seq 1 reaches the root.
    await TwoHubs.publish(device, topic, 'dev-r', 1);
    await hubs.waitForAll('dev-r', 1);
    // Nothing upstream: seq 2 is routed nowhere.
    const stopped = await parentControl(hubs).call('PATCH', `/v1/twins/${CHILD}/modules/${encodeURIComponent(EDGE_HUB)}/desired`, JSON.stringify({ routes: { up: null, nowhere: NOWHERE } }));
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    await reportedOnRoot(hubs, EDGE_HUB, 'routes without $upstream applied', (t) => t.reported.lastDesiredStatus?.code === 200);
    await TwoHubs.publish(device, topic, 'dev-r', 2);
    // Upstream again: seq 3 arrives, and seq 2 (sent before it, same source) never did.
    const restored = await parentControl(hubs).call('PATCH', `/v1/twins/${CHILD}/modules/${encodeURIComponent(EDGE_HUB)}/desired`, JSON.stringify({ routes: { up: TO_UPSTREAM, nowhere: null } }));
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    await reportedOnRoot(hubs, EDGE_HUB, 'routes with $upstream applied', (t) => t.reported.lastDesiredStatus?.code === 200);
    await TwoHubs.publish(device, topic, 'dev-r', 3);
    await retryUntil('seq 3 at the root', async () => (hubs.received.some((r) => r.source === 'dev-r' && r.seq === 3) ? true : undefined));
    assert.deepEqual(hubs.firstArrivals('dev-r'), [1, 3]);
    assert.equal(hubs.received.find((r) => r.seq === 3)?.cdid, 'dev-r');
    // The same process all along: applied without a restart.
    assert.equal(child.child.exitCode, null);
    assert.ok(child.lines.filter((l) => l.event === 'hub.routes_replaced').length >= 2);
  });

  it('from the root, a method, C2D and desired properties reach a device behind the child once it is connected there (MQTT)', async () => {
    const control = parentControl(hubs);
    // Not connected anywhere: the root answers the method at once with 404 (no one to call).
    const early = await control.call('POST', '/v1/methods/dev-m', JSON.stringify({ methodName: 'ping', payload: {}, responseTimeoutInSeconds: 5 }));
    assert.equal(early.status, 404, JSON.stringify(early.body));
    assert.equal((early.body as { errorCode?: number }).errorCode, 404103);
    // C2D and desired properties wait on the root until it connects.
    const sent = await control.call('POST', '/v1/devices/dev-m/messages/devicebound', JSON.stringify({ body: 'hello below' }));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const desired = await control.call('PATCH', '/v1/twins/dev-m/desired', JSON.stringify({ interval: 42 }));
    assert.equal(desired.status, 200, JSON.stringify(desired.body));
    const { sasLogin } = await import('../helpers/sas-hub.js');
    const { default: mqttjs } = await import('mqtt');
    const client = mqttjs.connect(`mqtts://localhost:${mqttPort}`, { ...sasLogin(HUB, hubs.key(hubs.childRegistry, 'dev-m'), 'dev-m'), ca, reconnectPeriod: 0 });
    below = client;
    client.on('error', () => undefined);
    const c2d: string[] = [];
    const twinAnswers: any[] = [];
    client.on('message', (topic, payload) => {
      if (topic.startsWith('devices/dev-m/messages/devicebound/')) c2d.push(payload.toString('utf8'));
      else if (topic.startsWith('$iothub/methods/POST/ping/')) {
        const rid = new URLSearchParams(topic.slice(topic.indexOf('?') + 1)).get('$rid');
        client.publish(`$iothub/methods/res/200/?$rid=${rid}`, JSON.stringify({ pong: JSON.parse(payload.toString('utf8')) }));
      } else if (topic.startsWith('$iothub/twin/res/200/')) twinAnswers.push(JSON.parse(payload.toString('utf8')));
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(['devices/dev-m/messages/devicebound/#', '$iothub/methods/POST/#', '$iothub/twin/res/#'], { qos: 1 });
    await retryUntil('the C2D message queued on the root at the device', async () => (c2d.includes('hello below') ? true : undefined));
    const answer = await retryUntil('the method answered through the child', async () => {
      const result = await control.call('POST', '/v1/methods/dev-m', JSON.stringify({ methodName: 'ping', payload: { n: 7 }, responseTimeoutInSeconds: 10 }));
      return result.status === 404 ? undefined : result;
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { status: 200, payload: { pong: { n: 7 } } });
    // The twin here is re-pulled from the root when the relay attaches: a GET then has the root's desired.
    let rid = 0;
    await retryUntil('the root\'s desired in the twin GET on the child', async () => {
      if (twinAnswers.some((t) => t.desired?.interval === 42)) return true;
      client.publish(`$iothub/twin/GET/?$rid=${++rid}`, '');
      return undefined;
    }, 30_000, 300);
  });

  it('a deployment made on the root while the child is cut off is applied once the link is back (the twin re-pulled)', async () => {
    const pid = modulePid(hubs.childDir, 'tiny');
    const childTwin = async () => ((await childControl(hubs).call('GET', `/v1/twins/${CHILD}/modules/${encodeURIComponent(EDGE_AGENT)}`)).body as { properties: SystemTwin }).properties;
    const versionHere = (await childTwin()).desired.$version;
    await cutter.cut();
    const file = join(dir.path, 'while-cut.json');
    writeFileSync(file, manifest({ up: TO_UPSTREAM }, 'two'));
    const deployed = await runOutpost(['deploy', file, '--device', CHILD, '--data-dir', hubs.parentDir]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const onRoot = (await twinOnRoot(hubs, EDGE_AGENT)).desired.$version;
    assert.ok(onRoot > versionHere);
    assert.equal((await childTwin()).desired.$version, versionHere, 'the child cannot have it while cut off');
    await cutter.restore();
    const twin = await reportedOnRoot(hubs, EDGE_AGENT, 'the deployment made while cut off applied', (t) => t.reported.lastDesiredStatus?.code === 200 && t.reported.modules?.tiny?.runtimeStatus === 'running');
    assert.equal(twin.reported.lastDesiredVersion, onRoot);
    const newPid = modulePid(hubs.childDir, 'tiny');
    assert.notEqual(newPid, pid, 'tiny recreated with its new env');
    assert.ok(alive(newPid) && !alive(pid));
  });
});
