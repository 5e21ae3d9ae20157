// Summarises gate result files (bench/results/gate-*.json) into the calibration figures committed
// in bench/gate-calibration.json: for each regression check of bench/gate.json, the candidate ÷
// baseline ratio of every run, this run's noise, and the verdict the current gate.json gives on
// the stored runs (the judgement is a pure function of them: bench/lib/gate-compare.ts). Run it on
// A-against-A runs (`npm run bench:gate -- --baseline HEAD` on a clean tree: both builds are the
// same commit) to see how far noise alone moves each figure, and so what tolerance is safe.
//   node dist/bench/gate-calibration.js <gate-result.json> … [--out FILE]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { judgeRegression, type AbRuns } from './lib/gate-compare.js';
import { parseGateConfig } from './lib/gate-config.js';
import type { ScenarioResult } from './lib/result-schema.js';

const CONFIG = join(fileURLToPath(new URL('../../', import.meta.url)), 'bench', 'gate.json');

interface GateFile {
  readonly status: string;
  readonly seconds: number;
  readonly candidate: string;
  readonly baseline: { readonly name?: string; readonly commit?: string };
  readonly results: ScenarioResult[];
}

function main(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { out: { type: 'string' }, config: { type: 'string' } } });
  const config = parseGateConfig(JSON.parse(readFileSync(values.config ?? CONFIG, 'utf8')));
  const files = positionals.map((path) => ({ path, file: JSON.parse(readFileSync(path, 'utf8')) as GateFile }));
  const checks = config.regression.map((check) => {
    const perRun = files.map(({ path, file }) => {
      const runs: AbRuns = {
        candidate: file.results.filter((r) => r.scenario === check.scenario && r.target === file.candidate),
        baseline: file.results.filter((r) => r.scenario === check.scenario && r.target === file.baseline.name),
      };
      const o = judgeRegression(check, runs, { candidate: file.candidate, baseline: file.baseline.name ?? 'baseline' });
      return { file: path, status: o.status, ratio: o.ratio, noise: o.noise, runs: runs.candidate.length };
    });
    const ratios = perRun.map((r) => r.ratio).filter((v): v is number => v !== null);
    // How far the worse side of 1.0 noise moved the figure: what a fixed tolerance must absorb.
    const worst = ratios.length === 0 ? null : check.better === 'higher' ? 1 - Math.min(...ratios) : Math.max(...ratios) - 1;
    return { scenario: check.scenario, metric: check.metric, better: check.better, tolerance: check.tolerance, worstDeviation: worst, passed: perRun.filter((r) => r.status === 'pass').length, judged: perRun.filter((r) => r.status !== 'unjudged' && r.status !== 'unavailable').length, perRun };
  });
  for (const c of checks) {
    const figures = c.perRun.map((r) => (r.ratio === null ? r.status : `${r.ratio.toFixed(3)}${r.noise ? `±${(r.noise * 100).toFixed(0)}%` : ''}${r.status === 'fail' ? '!' : ''}`)).join(' ');
    process.stdout.write(`${`${c.scenario} ${c.metric}`.padEnd(44)} passed ${c.passed}/${c.judged}  worst ${c.worstDeviation === null ? '-' : `${(c.worstDeviation * 100).toFixed(1)}%`}  ${figures}\n`);
  }
  const runs = files.map(({ path, file }) => ({ file: path, gateStatus: file.status, seconds: Math.round(file.seconds), candidate: file.candidate, baseline: file.baseline.name ?? null }));
  if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify({ generatedBy: 'node dist/bench/gate-calibration.js', runs, checks }, null, 2)}\n`);
  return 0;
}

process.exit(main(process.argv.slice(2)));
