// The gate's floors, kept pure so the test can feed it results: loose sanity checks that do not
// depend on a baseline build. A ratio floor compares a figure of the candidate (Outpost) with the
// same figure of the reference peer (Mosquitto) measured in the same run; how far Outpost is ahead
// follows the host's system-call cost (Mosquitto makes one per packet, Outpost coalesces), so
// these floors are set far under what any host measured and catch only a collapse. A ceiling
// holds a figure of the candidate alone: a count that does not drift with timing (bytes per idle
// connection) or Outpost against itself in one run (SAS ÷ anonymous connect cost). The regression
// judgement against the previous build is bench/lib/gate-compare.ts.
import type { CheckStatus } from './gate-compare.js';
import type { FloorCheck } from './gate-config.js';
import { formatFigure, metricOf } from './gate-figures.js';
import type { ScenarioResult } from './result-schema.js';

/** One scenario's runs of the candidate and of the reference peer (none for a ceiling alone). */
export interface FloorRuns {
  readonly candidate: readonly ScenarioResult[];
  readonly reference: readonly ScenarioResult[];
}

export interface FloorOutcome {
  readonly scenario: string;
  readonly metric: string;
  readonly status: CheckStatus;
  /** The figure judged: candidate ÷ reference, or the candidate's own. */
  readonly value: number | null;
  readonly line: string;
}

export function evaluateFloor(check: FloorCheck, runs: FloorRuns, names: { candidate: string; reference: string }): FloorOutcome {
  const label = `${check.scenario} ${check.metric}`;
  const out = (status: CheckStatus, line: string, value: number | null = null): FloorOutcome => ({ scenario: check.scenario, metric: check.metric, status, value, line });
  // As in gate-compare.ts: a scenario error is a verdict, a hub that did not start in time is not.
  const error = runs.candidate.find((r) => r.status === 'error');
  if (error !== undefined) return out('fail', `FAIL ${label}: ${names.candidate} error: ${error.error ?? ''}`);
  const candidateOk = runs.candidate.filter((r) => r.status === 'ok');
  if (candidateOk.length === 0) {
    const first = runs.candidate[0];
    return out('unavailable', `UNAVAILABLE ${label}: ${names.candidate} ${first === undefined ? 'not run' : `${first.status}: ${first.error ?? ''}`}`);
  }
  const cs = candidateOk.map((r) => metricOf(r, check.metric)).filter((v): v is number => v !== null);
  if (cs.length === 0) return out('fail', `FAIL ${label}: ${names.candidate} reported no figure`);
  if (check.kind === 'max') {
    // The lowest run: noise only adds (garbage not yet collected, a disturbed round).
    const value = Math.min(...cs);
    const ok = value <= check.ceiling;
    return out(
      ok ? 'pass' : 'fail',
      `${ok ? 'PASS' : 'FAIL'} ${label}: ${names.candidate} ${formatFigure(check.metric, value)} (ceiling ${formatFigure(check.metric, check.ceiling)}; runs: ${cs.map((v) => formatFigure(check.metric, v)).join(', ')})`,
      value,
    );
  }
  const referenceOk = runs.reference.filter((r) => r.status === 'ok');
  if (referenceOk.length === 0) {
    const first = runs.reference[0];
    return out('unavailable', `UNAVAILABLE ${label}: ${names.reference} ${first === undefined ? 'not run' : `${first.status}: ${first.error ?? ''}`}`);
  }
  const refs = referenceOk.map((r) => metricOf(r, check.metric)).filter((v): v is number => v !== null && v > 0);
  if (refs.length === 0) return out('fail', `FAIL ${label}: ${names.reference} reported no figure`);
  // Best of each side, not the best per-run ratio, which one disturbed reference run would inflate.
  const c = Math.max(...cs);
  const ref = Math.max(...refs);
  const ratio = c / ref;
  const ok = ratio >= check.floor;
  return out(
    ok ? 'pass' : 'fail',
    `${ok ? 'PASS' : 'FAIL'} ${label}: ${names.candidate}/${names.reference} = ${ratio.toFixed(2)} (best of each: ${formatFigure(check.metric, c)}, ${formatFigure(check.metric, ref)}; floor ${check.floor.toFixed(2)})`,
    ratio,
  );
}

/** fail if any check failed; else unavailable if any could not be judged for want of a target; else pass. */
export function overallStatus(outcomes: ReadonlyArray<{ readonly status: CheckStatus }>): 'pass' | 'fail' | 'unavailable' {
  if (outcomes.some((o) => o.status === 'fail')) return 'fail';
  if (outcomes.some((o) => o.status === 'unavailable')) return 'unavailable';
  return 'pass';
}
