// One scenario result checked against the results file's schema, inside a file of its own: the
// bench tests' shared check that a scenario's output is what `npm run bench` would write.
import assert from 'node:assert/strict';
import type { LoadgenKind } from '../../bench/lib/children.js';
import { validateResultFile, type ScenarioResult } from '../../bench/lib/result-schema.js';

export function assertValidResult(r: ScenarioResult, loadgen: LoadgenKind = 'c'): void {
  const file = {
    schemaVersion: 1 as const,
    startedAt: '',
    finishedAt: '',
    machine: { cpus: 2, cpuModel: 't', totalMemoryBytes: 1, node: process.version, os: 'linux' },
    options: { quick: true, loadgen, seed: 1, scenarios: [r.scenario], targets: r.target === 'local' ? [] : [r.target] },
    results: [r],
  };
  assert.deepEqual(validateResultFile(file), []);
}
