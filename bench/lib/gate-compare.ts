// The gate's regression judgement, kept pure so the test can feed it results: a figure of the
// candidate against the same figure of the baseline build (the last landed commit whose gate
// passed, or the branch's merge base), both measured in the same run with the same load generator,
// alternated A B A B. Noise on a shared machine (other processes on the cores) only ever makes a
// build look slower, so each side's best run is its least disturbed estimate: the fastest
// throughput, and the smallest memory (a run disturbed while the hub starts or under load keeps
// more garbage and buffers). The tolerance is what A-against-A runs of one build measured
// (bench/gate-calibration.json), widened by this run's own noise: the larger of the two builds'
// spreads (how far apart each build's two best runs landed). On a quiet machine that adds a few
// percent; on one shared with other work it can add tens, and the line says by how much, so a
// run too disturbed to see a change says so instead of failing a change it could not measure.
import type { RegressionCheck } from './gate-config.js';
import { formatFigure, metricOf } from './gate-figures.js';
import type { ScenarioResult } from './result-schema.js';

/** This run's noise at which a pass is flagged: a change smaller than this could hide in it. */
export const NOISY = 0.2;

/** One scenario's runs of both builds. */
export interface AbRuns {
  readonly candidate: readonly ScenarioResult[];
  readonly baseline: readonly ScenarioResult[];
}

export type CheckStatus = 'pass' | 'fail' | 'unavailable' | 'unjudged';

export interface RegressionOutcome {
  readonly scenario: string;
  readonly metric: string;
  readonly status: CheckStatus;
  /** Each side's best figure, and candidate ÷ baseline. */
  readonly candidate: number | null;
  readonly baseline: number | null;
  readonly ratio: number | null;
  /** The ratio at which the check fails: the lowest (higher is better) or highest (lower) allowed. */
  readonly limit: number | null;
  /** This run's noise added to the tolerance (spreadOf, the larger of the two builds'). */
  readonly noise: number | null;
  readonly runs: number;
  readonly line: string;
}

/** The builds' names in lines: e.g. "candidate 1a2b3c4+" and "baseline 4fdce2a". */
export interface BuildNames {
  readonly candidate: string;
  readonly baseline: string;
}

function best(values: readonly number[], better: RegressionCheck['better']): number {
  return better === 'higher' ? Math.max(...values) : Math.min(...values);
}

/** 1 − (second best ÷ best) for higher-is-better, 1 − (best ÷ second best) for lower; 0 with one run. */
export function spreadOf(values: readonly number[], better: RegressionCheck['better']): number {
  if (values.length < 2) return 0;
  const sorted = [...values].sort((a, b) => (better === 'higher' ? b - a : a - b));
  const [first, second] = [sorted[0]!, sorted[1]!];
  const hi = Math.max(first, second);
  return hi > 0 ? 1 - Math.min(first, second) / hi : 0;
}

export function judgeRegression(check: RegressionCheck, runs: AbRuns, names: BuildNames): RegressionOutcome {
  const label = `${check.scenario} ${check.metric}`;
  const base = { scenario: check.scenario, metric: check.metric, candidate: null, baseline: null, ratio: null, limit: null, noise: null, runs: runs.candidate.length };
  // A run that failed the scenario is a verdict on the change; one whose hub did not start in time
  // (a machine so loaded that start-up took over 20 s) is not, while the other runs of that build
  // are judged. A build with no run at all is: the candidate unavailable, or the baseline absent.
  const candidateError = runs.candidate.find((r) => r.status === 'error');
  if (candidateError !== undefined) return { ...base, status: 'fail', line: `FAIL ${label}: ${names.candidate} error: ${candidateError.error ?? ''}` };
  const candidateOk = runs.candidate.filter((r) => r.status === 'ok');
  if (candidateOk.length === 0) {
    const why = runs.candidate[0] === undefined ? 'not run' : `${runs.candidate[0].status}: ${runs.candidate[0].error ?? ''}`;
    return { ...base, status: 'unavailable', line: `UNAVAILABLE ${label}: ${names.candidate} ${why}` };
  }
  const baselineOk = runs.baseline.filter((r) => r.status === 'ok');
  if (baselineOk.length === 0) {
    const bad = runs.baseline[0];
    const why = bad === undefined ? 'no baseline build' : `${names.baseline} ${bad.status}: ${bad.error ?? ''}`;
    return { ...base, status: 'unjudged', line: `NO BASELINE ${label}: ${why}; the floors judge it alone` };
  }
  const cs = candidateOk.map((r) => metricOf(r, check.metric)).filter((v): v is number => v !== null);
  const bs = baselineOk.map((r) => metricOf(r, check.metric)).filter((v): v is number => v !== null);
  if (cs.length === 0) return { ...base, status: 'fail', line: `FAIL ${label}: ${names.candidate} reported no figure` };
  if (bs.length === 0) return { ...base, status: 'unjudged', line: `NO BASELINE ${label}: ${names.baseline} reported no figure; the floors judge it alone` };
  const unit = candidateOk[0]?.throughput.unit ?? '';
  const shown = (v: number): string => formatFigure(check.metric, v, check.metric === 'throughput' ? unit : '');
  const c = best(cs, check.better);
  const b = best(bs, check.better);
  const ratio = b > 0 ? c / b : c > 0 ? Infinity : 1;
  const noise = Math.max(spreadOf(cs, check.better), spreadOf(bs, check.better));
  const tolerance = check.tolerance + noise;
  const how = noise > 0 ? ` (${(check.tolerance * 100).toFixed(0)}% + this run's noise ${(noise * 100).toFixed(1)}%)` : '';
  let ok: boolean;
  let limit: number;
  let bound: string;
  if (check.better === 'higher') {
    limit = 1 - tolerance;
    ok = ratio >= limit;
    bound = `${ok ? 'at or above' : 'below'} the tolerated ${limit.toFixed(3)}${how}`;
  } else {
    const slack = check.slack ?? 0;
    const ceiling = b * (1 + tolerance) + slack;
    limit = b > 0 ? ceiling / b : Infinity;
    ok = c <= ceiling;
    bound = `${ok ? 'within' : 'above'} the tolerated ${(1 + tolerance).toFixed(3)}${how}${slack > 0 ? ` + ${shown(slack)}` : ''} (${shown(ceiling)})`;
  }
  // A pass whose noise alone exceeds NOISY says so: the run could not have seen a change that size.
  const verdict = ok ? (noise >= NOISY ? 'PASS (too noisy to judge)' : 'PASS') : 'FAIL';
  const line =
    `${verdict} ${label}: ${names.candidate} ${shown(c)} vs ${names.baseline} ${shown(b)}: ${ratio.toFixed(3)} of the baseline, ${bound} ` +
    `(${check.better === 'higher' ? 'best' : 'least'} of ${cs.length === bs.length ? `${cs.length} runs each` : `${cs.length} and ${bs.length} runs`}; ${names.candidate}: ${cs.map(shown).join(', ')}; ${names.baseline}: ${bs.map(shown).join(', ')})`;
  return { ...base, candidate: c, baseline: b, ratio, limit, noise, status: ok ? 'pass' : 'fail', line };
}
