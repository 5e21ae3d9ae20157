/**
 * Issue 18, done-when: "a deployment pushed from the root to the child's agent starts its modules
 * and the root sees the reported status", with three Outposts (child gateway → parent gateway →
 * root). The child is `outpost run` (hub and agent, process runtime); the root deploys with
 * `outpost deploy --device`, which writes the child's `$edgeAgent`/`$edgeHub` desired properties on
 * the root. They travel down through the parent (its relay subscribed on behalf of the child's
 * system modules, signed by the parent's key with the auth chain), and the agent's reported status
 * travels back up the same way.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubControlClient, HUB_CONTROL_SOCKET } from '../../src/hub/control/index.js';
import { runOutpost, stopGracefully, tempDir } from '../helpers/outpost-process.js';
import { retryUntil } from './relay-harness.js';
import { alive, modulePid, reportedAbove, type SystemTwin } from './system-twins.js';
import { LEAF_EDGE, ThreeHubs } from './three-level-harness.js';

const EDGE_AGENT = '$edgeAgent';

function manifest(tag: string): string {
  const tiny = { type: 'process', status: 'running', restartPolicy: 'always', env: { TAG: { value: tag } }, settings: { process: { command: '/bin/sh', args: ['-c', 'echo "tiny $TAG"; exec sleep 600'] } } };
  return JSON.stringify({
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', runtime: { type: 'process', settings: {} }, systemModules: {}, modules: { tiny } } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } } },
    },
  });
}

describe('three Outposts: the root deploys to the child gateway two levels down', () => {
  let dir: { path: string; remove(): void };
  let hubs: ThreeHubs;
  let root: HubControlClient;

  before(async () => {
    dir = tempDir('outpost-three-deploy-');
    hubs = new ThreeHubs(dir.path);
    // The child edge device's system modules exist at the top (IoT Hub makes them with an edge
    // device); the parent learns them from the root's device scope, the child needs none.
    for (const moduleId of [EDGE_AGENT, '$edgeHub']) hubs.registries.root.add({ deviceId: LEAF_EDGE, moduleId });
    await hubs.startRoot();
    await hubs.startParent();
    await hubs.startChild({ withAgent: true });
    root = new HubControlClient(join(hubs.dirs.root, HUB_CONTROL_SOCKET));
  });

  after(async () => {
    // Gracefully first: the agent stops its modules (a process module outlives a killed agent by design).
    const child = hubs?.running.child?.outpost;
    if (child !== undefined) await stopGracefully(child);
    await hubs?.close();
    dir?.remove();
  });

  const reportedOnRoot = (what: string, accept: (twin: SystemTwin) => boolean): Promise<SystemTwin> => reportedAbove(root, LEAF_EDGE, EDGE_AGENT, what, accept, 90_000);

  it('the child\'s agent reports through the parent: the root sees 417 (no deployment yet)', async () => {
    const twin = await reportedOnRoot('status 417', (t) => t.reported.lastDesiredStatus?.code === 417);
    assert.deepEqual(twin.reported.modules, {});
  });

  it('`outpost deploy --device` on the root starts the module on the child and the root sees it running; a second deployment replaces it', async () => {
    const first = join(dir.path, 'first.json');
    writeFileSync(first, manifest('one'));
    const deployed = await runOutpost(['deploy', first, '--device', LEAF_EDGE, '--data-dir', hubs.dirs.root]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const twin = await reportedOnRoot('200 and tiny running', (t) => t.reported.lastDesiredStatus?.code === 200 && t.reported.modules?.tiny?.runtimeStatus === 'running');
    assert.equal(twin.reported.modules.tiny.settings.process.command, '/bin/sh');
    const pid = modulePid(hubs.dirs.child, 'tiny');
    assert.ok(alive(pid), 'the module runs on the child');

    const second = join(dir.path, 'second.json');
    writeFileSync(second, manifest('two'));
    const again = await runOutpost(['deploy', second, '--device', LEAF_EDGE, '--data-dir', hubs.dirs.root]);
    assert.equal(again.code, 0, again.stderr);
    // Reported for the new desired version (reportedOnRoot waits for it); env values are not reported.
    await reportedOnRoot('the second deployment applied', (t) => t.reported.lastDesiredStatus?.code === 200 && t.reported.modules?.tiny?.runtimeStatus === 'running');
    await retryUntil('tiny restarted with the new env', async () => (modulePid(hubs.dirs.child, 'tiny') !== pid && alive(modulePid(hubs.dirs.child, 'tiny')) ? true : undefined), 30_000, 200);
    assert.ok(!alive(pid), 'the old process is gone');
  });
});
