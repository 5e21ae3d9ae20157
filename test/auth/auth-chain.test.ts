import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authChainProblem, deviceScopeOf, identityChain, onBehalfOfProblem, recordsFromScope, scopeTarget, type IdentityRecord, type ScopeSource } from '../../src/hub/auth/index.js';

// root (this gateway) ← child-edge ← { dev1, grand-edge ← dev2 };  root ← other-edge ← devX;  loop-a ↔ loop-b (bad data)
const KEY = Buffer.alloc(32, 7).toString('base64');
const record = (deviceId: string, parentDeviceId: string | undefined, extra: Partial<IdentityRecord> = {}): IdentityRecord => ({
  deviceId,
  status: 'enabled',
  authentication: { type: 'sas', primaryKey: KEY, secondaryKey: KEY },
  ...(parentDeviceId === undefined ? {} : { parentDeviceId }),
  generationId: `gen-${deviceId}`,
  source: 'local',
  ...extra,
});
const records: IdentityRecord[] = [
  record('child-edge', 'root', { edge: true }),
  record('grand-edge', 'child-edge', { edge: true }),
  record('other-edge', 'root', { edge: true }),
  record('dev1', 'child-edge'),
  record('dev2', 'grand-edge'),
  record('devX', 'other-edge'),
  record('off', 'child-edge', { status: 'disabled', edge: true }),
  record('cam', 'grand-edge', { authentication: { type: 'selfSigned', primaryThumbprint: 'AB'.repeat(20) } }),
  record('loop-a', 'loop-b'),
  record('loop-b', 'loop-a', { edge: true }),
  { deviceId: 'dev1', moduleId: 'm', status: 'enabled', authentication: { type: 'sas', primaryKey: KEY, secondaryKey: KEY }, generationId: 'gen-m', source: 'local' },
];
const registry: ScopeSource = {
  edgeDeviceId: 'root',
  get: (deviceId, moduleId) => records.find((r) => r.deviceId === deviceId && r.moduleId === moduleId),
  list: () => records,
};

describe('auth chains (nested edge)', () => {
  it('walks from an identity up its parents to this gateway', () => {
    assert.deepEqual(identityChain(registry, 'dev2', undefined), ['dev2', 'grand-edge', 'child-edge', 'root']);
    assert.deepEqual(identityChain(registry, 'dev1', 'm'), ['dev1/m', 'dev1', 'child-edge', 'root']);
    assert.equal(identityChain(registry, 'loop-a', undefined), undefined, 'a parent cycle is no chain');
    assert.equal(identityChain(registry, 'nobody', undefined), undefined);
  });

  it('lets an edge device act only for identities below it, and only when it is below this gateway', () => {
    assert.equal(onBehalfOfProblem(registry, 'child-edge', 'dev1', undefined), undefined);
    assert.equal(onBehalfOfProblem(registry, 'child-edge', 'dev2', undefined), undefined, 'a grandchild');
    assert.equal(onBehalfOfProblem(registry, 'grand-edge', 'dev2', undefined), undefined);
    assert.equal(onBehalfOfProblem(registry, 'child-edge', 'dev1', 'm'), undefined);
    assert.equal(onBehalfOfProblem(registry, 'child-edge', 'child-edge', 'unregistered'), undefined, 'its own module, unknown here');
    assert.equal(onBehalfOfProblem(registry, 'child-edge', 'grand-edge', '$edgeAgent'), undefined, 'a module of an edge device below it, unknown here');
    assert.match(onBehalfOfProblem(registry, 'child-edge', 'devX', undefined)!, /not in the device scope of child-edge/);
    assert.match(onBehalfOfProblem(registry, 'grand-edge', 'dev1', undefined)!, /not in the device scope/, 'a child does not act for its parent\'s devices');
    assert.match(onBehalfOfProblem(registry, 'child-edge', 'dev1', 'other')!, /not in this gateway's registry/);
    assert.match(onBehalfOfProblem(registry, 'child-edge', 'nobody', undefined)!, /not in this gateway's registry/);
    assert.match(onBehalfOfProblem(registry, 'dev1', 'dev1', 'm')!, /not an edge device/);
    assert.match(onBehalfOfProblem(registry, 'off', 'dev1', undefined)!, /disabled/);
    assert.match(onBehalfOfProblem(registry, 'root', 'dev1', undefined)!, /this gateway/);
    assert.match(onBehalfOfProblem(registry, 'loop-b', 'loop-a', undefined)!, /not in this gateway's registry/, 'outside this gateway\'s tree');
  });

  it('checks a link\'s auth-chain against the registry and the actor', () => {
    assert.equal(authChainProblem(registry, 'dev2;grand-edge;child-edge', 'dev2', undefined, 'child-edge'), undefined);
    assert.equal(authChainProblem(registry, 'dev2;grand-edge', 'dev2', undefined, 'grand-edge'), undefined);
    assert.equal(authChainProblem(registry, 'dev1', 'dev1', undefined, undefined), undefined, 'a direct identity naming only itself');
    assert.match(authChainProblem(registry, 'dev2;child-edge', 'dev2', undefined, 'child-edge')!, /does not follow/);
    assert.match(authChainProblem(registry, 'dev1;child-edge', 'dev2', undefined, 'child-edge')!, /must start with dev2/);
    assert.match(authChainProblem(registry, 'dev2;grand-edge', 'dev2', undefined, 'child-edge')!, /must end with child-edge/);
    assert.match(authChainProblem(registry, ';;', 'dev2', undefined, undefined)!, /must start with/);
  });
});

describe('device scope', () => {
  it('serves an edge device its own record, the devices below it at any depth and their modules, and nothing else', () => {
    const scope = deviceScopeOf(registry, 'child-edge');
    assert.deepEqual(scope.devices.map((d) => d.deviceId).sort(), ['cam', 'child-edge', 'dev1', 'dev2', 'grand-edge', 'off']);
    assert.deepEqual(scope.modules.map((m) => `${m.deviceId}/${m.moduleId}`), ['dev1/m']);
    const dev2 = scope.devices.find((d) => d.deviceId === 'dev2')!;
    assert.deepEqual(dev2.parentScopes, ['ms-azure-iot-edge://grand-edge-gen-grand-edge']);
    assert.deepEqual(dev2.authentication, { type: 'sas', symmetricKey: { primaryKey: KEY, secondaryKey: KEY } });
    assert.equal(scope.continuationLink, null);
  });

  it('answers for one identity what the whole scope holds of it, and nothing outside the scope', () => {
    for (const edge of ['child-edge', 'grand-edge', 'other-edge']) {
      const whole = deviceScopeOf(registry, edge);
      for (const [deviceId, moduleId] of [...records.map((r) => [r.deviceId, r.moduleId] as const), ['root', undefined], ['nobody', undefined], ['dev1', 'nope']] as const) {
        const one = scopeTarget(registry, edge, deviceId, moduleId);
        assert.deepEqual(one.devices, whole.devices.filter((d) => d.deviceId === deviceId), `${edge}: ${deviceId}`);
        assert.deepEqual(one.modules, moduleId === undefined ? [] : whole.modules.filter((m) => m.deviceId === deviceId && m.moduleId === moduleId), `${edge}: ${deviceId}/${moduleId}`);
        assert.equal(one.continuationLink, null);
      }
    }
  });

  it('reads a scope back into registry records for the child, its own record and modules left out', () => {
    const scope = JSON.parse(JSON.stringify(deviceScopeOf(registry, 'child-edge'))) as unknown;
    const { records: back, problems } = recordsFromScope(scope, 'child-edge');
    assert.deepEqual(problems, []);
    const byId = new Map(back.map((r) => [r.moduleId === undefined ? r.deviceId : `${r.deviceId}/${r.moduleId}`, r]));
    assert.deepEqual([...byId.keys()].sort(), ['cam', 'dev1', 'dev1/m', 'dev2', 'grand-edge', 'off']);
    assert.deepEqual(byId.get('cam'), { ...records.find((r) => r.deviceId === 'cam')!, source: 'upstream' }, 'a thumbprint identity too');
    assert.deepEqual(byId.get('dev2'), { ...record('dev2', 'grand-edge'), source: 'upstream' });
    assert.equal(byId.get('grand-edge')?.parentDeviceId, 'child-edge');
    assert.equal(byId.get('off')?.status, 'disabled');
    assert.deepEqual(recordsFromScope({ nope: 1 }, 'child-edge').problems, ['the answer is not a device scope ({devices, modules})']);
    // Without the child's own record in the answer, its scope still names it; an unknown scope is named as a problem.
    const { devices } = scope as { devices: { deviceId: string; parentScopes: string[] }[] };
    const withoutSelf = { devices: devices.filter((d) => d.deviceId !== 'child-edge' && d.deviceId !== 'grand-edge'), modules: [] };
    const partial = recordsFromScope(withoutSelf, 'child-edge');
    assert.equal(partial.records.find((r) => r.deviceId === 'dev1')?.parentDeviceId, 'child-edge');
    assert.deepEqual(partial.problems.sort(), ['cam: its parent scope is not in the answer', 'dev2: its parent scope is not in the answer']);
  });
});
