// The CI gate's judgement, kept pure so the test can feed it results: each check compares a
// figure of the candidate (Outpost) either with the same figure of the reference peer measured in
// the same run (a ratio: timing noise of a shared machine hits both) or, for counts that do not
// drift with timing (bytes per connection), with a fixed limit. Never one absolute time.
import type { ScenarioResult } from './result-schema.js';

export interface RatioCheck {
  readonly scenario: string;
  /** 'throughput' (the headline) or a key of ScenarioResult.metrics. */
  readonly metric: string;
  readonly kind: 'ratio';
  /** candidate / reference that was committed; the gate fails below baseline × (1 − tolerance). */
  readonly baseline: number;
  /** Overrides Baselines.tolerance for this check. */
  readonly tolerance?: number;
  readonly why: string;
}

export interface LimitCheck {
  readonly scenario: string;
  readonly metric: string;
  readonly kind: 'max';
  /** The candidate's figure must not exceed limit × (1 + tolerance). */
  readonly limit: number;
  /** Overrides Baselines.tolerance for this check. */
  readonly tolerance?: number;
  readonly why: string;
}

export type GateCheck = RatioCheck | LimitCheck;

export interface Baselines {
  readonly candidate: string;
  readonly reference: string;
  /** Fraction of slack for the noise of a shared 2-core machine. */
  readonly tolerance: number;
  readonly checks: readonly GateCheck[];
}

/** One round: the candidate's and the reference's results for a scenario, measured back to back. */
export interface GateRound {
  readonly candidate: ScenarioResult;
  readonly reference: ScenarioResult;
}

export interface GateVerdict {
  readonly status: 'pass' | 'fail' | 'unavailable';
  readonly lines: string[];
}

export function metricOf(result: ScenarioResult, metric: string): number | null {
  if (metric === 'throughput') return result.throughput.value;
  const value = result.metrics[metric];
  return value === undefined ? null : value;
}

/** Parses and checks baselines.json; throws naming the problem. */
export function parseBaselines(value: unknown): Baselines {
  const v = value as Partial<Baselines> | null;
  if (v === null || typeof v !== 'object') throw new Error('baselines: not an object');
  if (typeof v.candidate !== 'string' || typeof v.reference !== 'string') throw new Error('baselines: candidate and reference must be target names');
  if (typeof v.tolerance !== 'number' || v.tolerance < 0 || v.tolerance >= 1) throw new Error('baselines: tolerance must be a number in [0, 1)');
  if (!Array.isArray(v.checks) || v.checks.length === 0) throw new Error('baselines: checks must be a non-empty array');
  v.checks.forEach((c: Partial<GateCheck>, i) => {
    if (typeof c.scenario !== 'string' || typeof c.metric !== 'string' || typeof c.why !== 'string') throw new Error(`baselines: checks[${i}] needs scenario, metric and why`);
    if (c.kind === 'ratio' && !(typeof c.baseline === 'number' && c.baseline > 0)) throw new Error(`baselines: checks[${i}] (ratio) needs a positive baseline`);
    if (c.kind === 'max' && !(typeof c.limit === 'number' && c.limit > 0)) throw new Error(`baselines: checks[${i}] (max) needs a positive limit`);
    if (c.kind !== 'ratio' && c.kind !== 'max') throw new Error(`baselines: checks[${i}].kind must be ratio or max`);
  });
  return v as Baselines;
}

function fmt(n: number): string {
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (Math.abs(n) >= 10) return n.toFixed(0);
  return n.toFixed(2);
}

/**
 * Judges the rounds of each scenario against the baselines. Noise on a shared machine only ever
 * makes a broker look worse, so each side's best figure over the rounds is its least noisy
 * estimate: a ratio is best candidate ÷ best reference (not the best per-round ratio, which a
 * disturbed reference round would inflate), and a limit is checked against the lowest figure.
 */
export function evaluateGate(baselines: Baselines, rounds: ReadonlyMap<string, readonly GateRound[]>): GateVerdict {
  const lines: string[] = [];
  let failed = false;
  let unavailable = false;
  const { candidate, reference } = baselines;
  for (const check of baselines.checks) {
    const tolerance = check.tolerance ?? baselines.tolerance;
    const label = `${check.scenario} ${check.metric}`;
    const list = rounds.get(check.scenario) ?? [];
    const notOk = list.flatMap((r) => [r.candidate, r.reference]).find((r) => r.status !== 'ok');
    if (list.length === 0 || notOk !== undefined) {
      unavailable = true;
      const reason = notOk === undefined ? 'scenario not run' : (notOk.error ?? `${notOk.target} ${notOk.status}`);
      lines.push(`UNAVAILABLE ${label}: ${reason}`);
      continue;
    }
    if (check.kind === 'ratio') {
      const measured = list.map((r) => {
        const c = metricOf(r.candidate, check.metric);
        const ref = metricOf(r.reference, check.metric);
        return { c, ref, ratio: c !== null && ref !== null && ref > 0 ? c / ref : null };
      });
      const cs = measured.map((m) => m.c).filter((v): v is number => v !== null);
      const refs = measured.map((m) => m.ref).filter((v): v is number => v !== null && v > 0);
      if (cs.length === 0 || refs.length === 0) {
        failed = true;
        lines.push(`FAIL ${label}: no figure to compare (${candidate} or ${reference} reported none)`);
        continue;
      }
      const best = { c: Math.max(...cs), ref: Math.max(...refs) };
      const ratio = best.c / best.ref;
      const floor = check.baseline * (1 - tolerance);
      const ok = ratio >= floor;
      failed ||= !ok;
      lines.push(
        `${ok ? 'PASS' : 'FAIL'} ${label}: ${candidate}/${reference} = ${ratio.toFixed(2)} ` +
          `(best of each: ${candidate} ${fmt(best.c)}, ${reference} ${fmt(best.ref)}; baseline ${check.baseline.toFixed(2)}, floor ${floor.toFixed(2)}; ` +
          `rounds: ${measured.map((m) => (m.ratio === null ? '-' : m.ratio.toFixed(2))).join(', ')})`,
      );
    } else {
      const values = list.map((r) => metricOf(r.candidate, check.metric)).filter((v): v is number => v !== null);
      if (values.length === 0) {
        failed = true;
        lines.push(`FAIL ${label}: ${candidate} reported no figure`);
        continue;
      }
      const best = Math.min(...values);
      const ceiling = check.limit * (1 + tolerance);
      const ok = best <= ceiling;
      failed ||= !ok;
      lines.push(`${ok ? 'PASS' : 'FAIL'} ${label}: ${candidate} ${fmt(best)} (limit ${fmt(check.limit)}, ceiling ${fmt(ceiling)}; rounds: ${values.map(fmt).join(', ')})`);
    }
  }
  return { status: failed ? 'fail' : unavailable ? 'unavailable' : 'pass', lines };
}
