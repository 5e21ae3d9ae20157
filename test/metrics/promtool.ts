import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** Runs promtool on `text`: exit status and the problems it names. */
export function promtool(text: string): { status: number | null; problems: string[] } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(result.error, undefined, 'promtool is missing: run scripts/install-test-deps.sh (Debian package prometheus)');
  const problems = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { status: result.status, problems };
}

/** promtool's lint on Azure's own camelCase edgeAgent_ names is expected: those names are kept for dashboards. */
export function unexpectedProblems(problems: readonly string[]): string[] {
  return problems.filter((line) => !/^edgeAgent_\w+ metric names should be written in 'snake_case' not 'camelCase'$/.test(line));
}

