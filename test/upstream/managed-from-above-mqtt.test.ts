/**
 * The agent managed from above with `upstream.protocol` Mqtt (one MQTT connection per identity to
 * the parent): the child's `$edgeAgent` and `$edgeHub` twins are relayed with no client connected
 * as them, as over AMQP (managed-from-above.test.ts). Two real Outposts; the child is `outpost run`
 * (hub and agent, process runtime); the root deploys with `outpost deploy --device`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { childEnv, runOutpost, spawnOutpost, stopGracefully, tempDir, type OutpostProcess } from '../helpers/outpost-process.js';
import { parentControl } from './relay-harness.js';
import { alive, modulePid, reportedAbove, type SystemTwin } from './system-twins.js';
import { CHILD, HUB, TwoHubs } from './upstream-harness.js';

const START_TIMEOUT_MS = 60_000;
const EDGE_AGENT = '$edgeAgent';

describe('the agent managed from above over the MQTT upstream', () => {
  let dir: { path: string; remove(): void };
  let hubs: TwoHubs;
  let child: OutpostProcess;

  before(async () => {
    dir = tempDir('outpost-fromabove-mqtt-');
    hubs = new TwoHubs(dir.path);
    // On the root only, as IoT Hub makes them with an edge device; the child signs on behalf of them.
    for (const moduleId of [EDGE_AGENT, '$edgeHub']) hubs.parentRegistry.add({ deviceId: CHILD, moduleId });
    const parent = await hubs.startParent();
    const env = {
      OUTPOST_DEVICE_ID: CHILD,
      OUTPOST_IOT_HUB_HOSTNAME: HUB,
      OUTPOST_UPSTREAM__HOSTNAME: 'localhost',
      OUTPOST_UPSTREAM__PROTOCOL: 'Mqtt',
      OUTPOST_UPSTREAM__MQTT_PORT: String(parent.mqttPort),
      OUTPOST_UPSTREAM__CA_FILE: parent.caFile,
      OUTPOST_UPSTREAM__CONNECTION_STRING: hubs.childConnectionString(),
    };
    child = spawnOutpost(['run', '--data-dir', hubs.childDir, '--mqtt-port', '0', '--amqp-port', '0', '--https-port', '0', '--deployment', join(dir.path, 'child.json')], { env: childEnv(env) });
    await child.waitFor((line) => line.event === 'agent.ready', START_TIMEOUT_MS);
  });

  after(async () => {
    // Gracefully: the agent stops its modules (a process module outlives a killed agent by design).
    await stopGracefully(child);
    await hubs?.close();
    dir?.remove();
  });

  const reportedOnRoot = (what: string, accept: (twin: SystemTwin) => boolean): Promise<SystemTwin> => reportedAbove(parentControl(hubs), CHILD, EDGE_AGENT, what, accept);

  it('reports 417 before any deployment, then applies one deployed on the root and reports the module running', async () => {
    await reportedOnRoot('status 417', (t) => t.reported.lastDesiredStatus?.code === 417);
    const tiny = { type: 'process', status: 'running', restartPolicy: 'always', settings: { process: { command: '/bin/sh', args: ['-c', 'exec sleep 600'] } } };
    const file = join(dir.path, 'to-child.json');
    writeFileSync(file, JSON.stringify({
      modulesContent: {
        $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'process', settings: {} }, systemModules: {}, modules: { tiny } } },
        $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
      },
    }));
    const deployed = await runOutpost(['deploy', file, '--device', CHILD, '--data-dir', hubs.parentDir]);
    assert.equal(deployed.code, 0, deployed.stderr);
    await reportedOnRoot('200 and tiny running', (t) => t.reported.lastDesiredStatus?.code === 200 && t.reported.modules?.tiny?.runtimeStatus === 'running');
    assert.ok(alive(modulePid(hubs.childDir, 'tiny')), 'the module runs on the child');
  });
});
