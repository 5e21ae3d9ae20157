/**
 * The agent's side of being managed from above, against a real TwinService (in-memory store): the
 * deployment composed from the `$edgeAgent`/`$edgeHub` desired sections, and the reports written
 * into the `$edgeAgent` twin (docs/agent.md, "Managed from above"). The whole path, with two real
 * Outposts, is test/upstream/managed-from-above.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deploymentFromTwins, TwinReporter } from '../../src/agent/index.js';
import { MemoryTwinStore, systemModuleTwins, TwinService } from '../../src/hub/twin/index.js';
import { createLogger } from '../../src/log/index.js';

const logger = createLogger({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'outpost-desired-twins-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const agentSection = { schemaVersion: '1.1', runtime: { type: 'process', settings: {} }, systemModules: {}, modules: { m: { type: 'process', status: 'running', settings: { process: { command: '/bin/true' } } } } };
const hubSection = { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' }, storeAndForwardConfiguration: { timeToLiveSecs: 60 } };
const options = { file: join(dir, 'desired-deployment.json'), runtime: 'process' as const, searchPath: '/usr/bin:/bin' };

async function openTwins(): Promise<{ twins: TwinService; system: ReturnType<typeof systemModuleTwins> }> {
  const store = new MemoryTwinStore();
  await store.open();
  const twins = new TwinService({ store, logger, hubName: 'myhub' });
  return { twins, system: systemModuleTwins(twins, 'edge-1') };
}

describe('an agent managed from above: the deployment from the desired twins', () => {
  it('is 417 while $edgeAgent desired holds nothing, with the desired $version', () => {
    const sourced = deploymentFromTwins({ $version: 3 }, { ...hubSection, $version: 5 }, options);
    assert.ok(!sourced.result.ok);
    assert.equal(sourced.result.code, 417);
    assert.equal(sourced.agentVersion, 3);
  });

  it('is both sections as one manifest, validated, with each twin\'s $version', () => {
    const sourced = deploymentFromTwins({ ...agentSection, $version: 7 }, { ...hubSection, $version: 4 }, options);
    assert.ok(sourced.result.ok, JSON.stringify(sourced));
    assert.deepEqual(sourced.result.deployment.modules.map((m) => m.id), ['m']);
    assert.deepEqual(sourced.result.deployment.manifest.hub.routes, hubSection.routes);
    assert.equal(sourced.agentVersion, 7);
    assert.equal(sourced.hubVersion, 4);
    assert.equal(sourced.origin, 'twin');
  });

  it('reports the status Azure gives: 412 for a schema version, 400 for a route that does not compile', () => {
    const schema = deploymentFromTwins({ ...agentSection, schemaVersion: '2.0', $version: 2 }, { ...hubSection, $version: 2 }, options);
    assert.ok(!schema.result.ok);
    assert.equal(schema.result.code, 412);
    const route = deploymentFromTwins({ ...agentSection, $version: 2 }, { ...hubSection, routes: { up: 'FROM /messages/* WHERE INTO $upstream' }, $version: 3 }, options);
    assert.ok(!route.result.ok);
    assert.equal(route.result.code, 400);
    assert.match(route.result.problems[0]!.path, /\$edgeHub/);
  });
});

describe('an agent managed from above: reports into the $edgeAgent twin', () => {
  it('writes differences only, the first from what the twin held (keys of an earlier run removed)', async () => {
    const { twins, system } = await openTwins();
    await twins.patchReported('edge-1/$edgeAgent', { lastDesiredVersion: 1, modules: { gone: { runtimeStatus: 'running' }, kept: { runtimeStatus: 'running' } } });
    const reporter = new TwinReporter(system, '$edgeAgent', logger);
    let patches = 0;
    twins.onReported(() => patches++);
    reporter.report({ lastDesiredVersion: 2, modules: { kept: { runtimeStatus: 'running' } } });
    reporter.report({ lastDesiredVersion: 2, modules: { kept: { runtimeStatus: 'running' } } });
    await reporter.flushed();
    const twin = await twins.get('edge-1/$edgeAgent');
    assert.ok(twin.ok);
    assert.deepEqual(twin.twin.reported, { lastDesiredVersion: 2, modules: { kept: { runtimeStatus: 'running' } }, $version: 3 });
    assert.equal(patches, 1, 'an unchanged report writes nothing');
  });

  it('shortens a string a twin cannot hold instead of having the whole report refused', async () => {
    const { twins, system } = await openTwins();
    const reporter = new TwinReporter(system, '$edgeAgent', logger);
    reporter.report({ lastDesiredStatus: { code: 400, description: 'x'.repeat(5000) } });
    await reporter.flushed();
    const twin = await twins.get('edge-1/$edgeAgent');
    assert.ok(twin.ok);
    const description = (twin.twin.reported.lastDesiredStatus as { description: string }).description;
    assert.ok(description.length < 4096 && description.startsWith('xxx'), description.slice(0, 40));
  });

  it('is told of desired changes of either system twin, and replaceDesired removes what the new section lacks', async () => {
    const { twins, system } = await openTwins();
    let changes = 0;
    system.onDesiredChanged(() => changes++);
    await twins.replaceDesired('edge-1/$edgeHub', { routes: { a: 'FROM /messages/* INTO $upstream', b: 'FROM /messages/* INTO $upstream' } });
    await twins.replaceDesired('edge-1/$edgeHub', { routes: { a: 'FROM /messages/* INTO $upstream' } });
    await twins.replaceDesired('edge-1/$edgeAgent', agentSection as never);
    const unchanged = await twins.replaceDesired('edge-1/$edgeAgent', agentSection as never);
    assert.ok(unchanged.ok);
    assert.equal(unchanged.version, 2, 'the same section again changes nothing');
    assert.equal(changes, 3);
    const hub = await system.desired('$edgeHub');
    assert.deepEqual(hub, { routes: { a: 'FROM /messages/* INTO $upstream' }, $version: 3 });
  });
});
