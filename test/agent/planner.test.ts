import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configHashOfForTest } from './agent-fixtures.js';
import type { ModuleSpec } from '../../src/agent/index.js';
import { coolOffMs, moduleStatus, plan, type ActualModule, type RestartOptions, type RestartRecord } from '../../src/agent/plan/index.js';

const options: RestartOptions = { backoffBaseMs: 10_000, backoffMaxMs: 300_000, maxRestartCount: 0, healthyResetMs: 600_000 };
const NOW = 1_000_000_000;

function spec(id: string, extra: Partial<ModuleSpec> = {}): ModuleSpec {
  const base: ModuleSpec = {
    id,
    type: 'docker',
    version: '',
    status: 'running',
    restartPolicy: 'always',
    imagePullPolicy: 'on-create',
    startupOrder: 4_294_967_295,
    image: `img/${id}:1`,
    digest: undefined,
    createOptions: {},
    createOptionsText: '',
    env: {},
    process: undefined,
    configHash: '',
    ...extra,
  };
  return { ...base, configHash: extra.configHash ?? configHashOfForTest(base) };
}

function actual(s: ModuleSpec, extra: Partial<ActualModule> = {}): ActualModule {
  return { id: s.id, configHash: s.configHash, state: 'running', exitCode: undefined, startedAtMs: NOW - 60_000, finishedAtMs: undefined, health: 'none', ...extra };
}

const exited = (s: ModuleSpec, exitCode: number, agoMs: number, extra: Partial<ActualModule> = {}) =>
  actual(s, { state: 'exited', exitCode, startedAtMs: NOW - agoMs - 1_000, finishedAtMs: NOW - agoMs, ...extra });

function run(desired: ModuleSpec[], current: ActualModule[], restarts: Record<string, RestartRecord> = {}, nowMs = NOW, opts = options) {
  const result = plan({ desired, actual: current, restarts: new Map(Object.entries(restarts)), nowMs, options: opts });
  return { ...result, text: result.commands.map((c) => (c.kind === 'restart' ? `restart ${c.id}#${c.restartCount}` : `${c.kind} ${c.id}`)) };
}

describe('planner', () => {
  it('creates and starts new modules, in startup order then by id', () => {
    const a = spec('a', { startupOrder: 2 });
    const b = spec('b', { startupOrder: 0 });
    const c = spec('c');
    const stopped = spec('s', { status: 'stopped', startupOrder: 1 });
    assert.deepEqual(run([c, a, stopped, b], []).text, ['create b', 'start b', 'create s', 'create a', 'start a', 'create c', 'start c']);
  });

  it('does nothing when everything runs as desired', () => {
    const a = spec('a');
    assert.deepEqual(run([a], [actual(a)]).text, []);
  });

  it('updates a module whose configuration changed and starts it again', () => {
    const a = spec('a');
    const changed = spec('a', { env: { X: '1' } });
    assert.notEqual(a.configHash, changed.configHash);
    assert.deepEqual(run([changed], [actual(a)]).text, ['update a', 'start a']);
  });

  it('stops and removes modules no longer desired, before anything else', () => {
    const gone = spec('zz');
    const exitedGone = spec('yy');
    const a = spec('a', { startupOrder: 0 });
    assert.deepEqual(run([a], [actual(gone), exited(exitedGone, 0, 1_000)]).text, ['remove yy', 'stop zz', 'remove zz', 'create a', 'start a']);
  });

  it('honours desired status stopped and starts a module that was never started', () => {
    const a = spec('a', { status: 'stopped' });
    assert.deepEqual(run([a], [actual(a)]).text, ['stop a']);
    assert.deepEqual(run([a], [exited(a, 143, 10)]).text, []);
    const b = spec('b', { restartPolicy: 'never' });
    assert.deepEqual(run([b], [actual(b, { state: 'created', startedAtMs: undefined })]).text, ['start b']);
  });

  it('restarts per policy: never, on-failure, on-unhealthy, always', () => {
    const cases: [ModuleSpec['restartPolicy'], number | 'unhealthy', boolean][] = [
      ['never', 1, false],
      ['never', 0, false],
      ['never', 'unhealthy', false],
      ['on-failure', 1, true],
      ['on-failure', 0, false],
      ['on-failure', 'unhealthy', false],
      ['on-unhealthy', 1, true],
      ['on-unhealthy', 0, false],
      ['on-unhealthy', 'unhealthy', true],
      ['always', 0, true],
      ['always', 1, true],
      ['always', 'unhealthy', true],
    ];
    for (const [restartPolicy, outcome, restarts] of cases) {
      const m = spec('m', { restartPolicy });
      const current = outcome === 'unhealthy' ? actual(m, { health: 'unhealthy', startedAtMs: NOW - 60_000 }) : exited(m, outcome, 60_000);
      const result = run([m], [current]);
      assert.deepEqual(result.text, restarts ? ['restart m#1'] : [], `${restartPolicy} after ${outcome}`);
      const command = result.commands[0];
      if (command?.kind === 'restart') assert.equal(command.reason, outcome === 'unhealthy' ? 'unhealthy' : outcome === 0 ? 'exited' : 'failed');
    }
  });

  it('waits min(base × 2^n, max) after the exit before restarting, and says when', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50, 5_000].map((n) => coolOffMs(n, options) / 1000), [10, 20, 40, 80, 160, 300, 300, 300, 300]);
    const m = spec('m');
    for (const [count, waitMs] of [[0, 10_000], [2, 40_000], [9, 300_000]] as const) {
      const record = { restartCount: count, lastRestartAtMs: NOW - 500_000 };
      const early = run([m], [exited(m, 1, waitMs - 1)], { m: record });
      assert.deepEqual(early.text, [], `count ${count}`);
      assert.equal(early.wakeAtMs, NOW + 1);
      assert.equal(early.restarts.get('m')!.restartCount, count);
      const due = run([m], [exited(m, 1, waitMs)], { m: record });
      assert.deepEqual(due.text, [`restart m#${count + 1}`]);
      assert.deepEqual(due.restarts.get('m'), { restartCount: count + 1, lastRestartAtMs: NOW });
    }
  });

  it('restarts at once when the clock went backwards', () => {
    const m = spec('m');
    assert.deepEqual(run([m], [exited(m, 1, -5_000)], { m: { restartCount: 3, lastRestartAtMs: NOW } }).text, ['restart m#4']);
  });

  it('never gives up by default, and gives up after maxRestartCount when set', () => {
    const m = spec('m');
    const record = { m: { restartCount: 20, lastRestartAtMs: NOW - 1_000_000 } };
    assert.deepEqual(run([m], [exited(m, 1, 400_000)], record).text, ['restart m#21']);
    const capped = run([m], [exited(m, 1, 400_000)], record, NOW, { ...options, maxRestartCount: 20 });
    assert.deepEqual(capped.text, []);
    assert.equal(capped.wakeAtMs, undefined);
    const status = moduleStatus(m, exited(m, 1, 400_000), record.m, NOW, { ...options, maxRestartCount: 20 });
    assert.equal(status.runtimeStatus, 'failed');
    assert.match(status.statusDescription, /gave up after 20 restarts/);
  });

  it('resets the count after healthyResetMs of running, and wakes up to do so', () => {
    const m = spec('m');
    const record = { m: { restartCount: 4, lastRestartAtMs: NOW - 700_000 } };
    const young = run([m], [actual(m, { startedAtMs: NOW - 60_000 })], record);
    assert.equal(young.restarts.get('m')!.restartCount, 4);
    assert.equal(young.wakeAtMs, NOW - 60_000 + 600_000);
    assert.equal(run([m], [actual(m, { startedAtMs: NOW - 600_000 })], record).restarts.get('m')!.restartCount, 0);
    // A long run that then crashed starts the backoff from scratch too.
    const crashedLate = run([m], [actual(m, { state: 'exited', exitCode: 1, startedAtMs: NOW - 900_000, finishedAtMs: NOW - 10_000 })], record);
    assert.deepEqual(crashedLate.text, ['restart m#1']);
  });

  it('drops restart counts of modules that changed, stopped or were removed', () => {
    const m = spec('m');
    const record = { m: { restartCount: 3, lastRestartAtMs: NOW }, gone: { restartCount: 2, lastRestartAtMs: NOW } };
    assert.equal(run([spec('m', { env: { A: '1' } })], [exited(m, 1, 1)], record).restarts.size, 0);
    assert.equal(run([spec('m', { status: 'stopped' })], [exited(m, 1, 1)], record).restarts.size, 0);
  });
});

describe('module status', () => {
  const m = spec('m');
  const status = (a: ActualModule | undefined, s: ModuleSpec | undefined = m, record?: RestartRecord) => moduleStatus(s, a, record, NOW, options);

  it('maps runtime state to Azure runtimeStatus values', () => {
    assert.equal(status(actual(m)).runtimeStatus, 'running');
    assert.equal(status(actual(m, { health: 'unhealthy' }), spec('m', { restartPolicy: 'never' })).runtimeStatus, 'unhealthy');
    assert.equal(status(exited(m, 1, 1_000)).runtimeStatus, 'backoff');
    assert.match(status(exited(m, 1, 1_000)).statusDescription, /exited with code 1; restart 1 in 9s/);
    assert.equal(status(exited(spec('m', { restartPolicy: 'never' }), 0, 1_000), spec('m', { restartPolicy: 'never' })).runtimeStatus, 'stopped');
    assert.equal(status(exited(spec('m', { restartPolicy: 'never' }), 2, 1_000), spec('m', { restartPolicy: 'never' })).runtimeStatus, 'failed');
    assert.equal(status(exited(m, 143, 1_000), spec('m', { status: 'stopped' })).runtimeStatus, 'stopped');
    assert.equal(status(undefined).runtimeStatus, 'unknown');
    assert.equal(status(actual(m, { state: 'dead' }), spec('m', { restartPolicy: 'never' })).runtimeStatus, 'dead');
  });
});
