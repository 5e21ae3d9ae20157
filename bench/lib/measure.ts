// The measured window of a scenario: wall time and CPU seconds of the broker and of every load
// generator process between two instants, and the figures derived from them. The same /proc
// reading is used for both sides so their CPU per message can be compared directly.
import { cpuByPid, sampleProc } from './proc-stats.js';
import { Histogram, type HistogramSnapshot } from './histogram.js';
import type { LatencySummary, ScenarioResult } from './result-schema.js';

/** A load generator process using more than this share of a core may be limiting the run. */
export const LOADGEN_SATURATION = 0.9;

export interface WindowFigures {
  readonly windowSec: number;
  readonly broker: ScenarioResult['broker'];
  readonly loadgen: ScenarioResult['loadgen'];
}

export class MeasuredWindow {
  private readonly startedAt = process.hrtime.bigint();
  private readonly brokerStartCpu: number | undefined;
  private readonly loadgenStartCpu: Map<number, number>;

  constructor(private readonly brokerPid: number | undefined, private readonly loadgenPids: readonly number[]) {
    this.brokerStartCpu = brokerPid === undefined ? undefined : sampleProc(brokerPid)?.cpuSec;
    this.loadgenStartCpu = cpuByPid(loadgenPids);
  }

  end(): WindowFigures {
    const windowSec = Number(process.hrtime.bigint() - this.startedAt) / 1e9;
    const ends = cpuByPid(this.loadgenPids);
    let loadgenCpu = 0;
    let maxUtil = 0;
    for (const [pid, startCpu] of this.loadgenStartCpu) {
      const used = (ends.get(pid) ?? startCpu) - startCpu;
      loadgenCpu += used;
      maxUtil = Math.max(maxUtil, used / windowSec);
    }
    let broker: ScenarioResult['broker'] = null;
    if (this.brokerPid !== undefined && this.brokerStartCpu !== undefined) {
      const sample = sampleProc(this.brokerPid);
      if (sample !== undefined) {
        const cpuSec = sample.cpuSec - this.brokerStartCpu;
        broker = { pid: this.brokerPid, peakRssBytes: sample.peakRssBytes, cpuSec, cpuSecTotal: sample.cpuSec, utilization: cpuSec / windowSec };
      }
    }
    return { windowSec, broker, loadgen: { processes: this.loadgenPids.length, cpuSec: loadgenCpu, maxProcessUtilization: maxUtil } };
  }
}

/** Re-reads the broker's peak RSS and total CPU at the end of a scenario (after teardown load). */
export function finalBrokerFigures(broker: ScenarioResult['broker']): ScenarioResult['broker'] {
  if (broker === null) return null;
  const sample = sampleProc(broker.pid);
  return sample === undefined ? broker : { ...broker, peakRssBytes: sample.peakRssBytes, cpuSecTotal: sample.cpuSec };
}

export function mergeHistograms(snapshots: readonly HistogramSnapshot[]): Histogram {
  const merged = new Histogram();
  for (const s of snapshots) merged.merge(s);
  return merged;
}

export function summarizeLatency(h: Histogram): LatencySummary | null {
  if (h.count === 0) return null;
  return { count: h.count, p50Micros: h.quantile(0.5), p99Micros: h.quantile(0.99), maxMicros: h.maxMicros, meanMicros: h.mean() };
}

/** CPU µs per unit of work (message delivered, connection accepted), null when undefined. */
export function microsPer(cpuSec: number | undefined, units: number): number | null {
  return cpuSec === undefined || units <= 0 ? null : (cpuSec * 1e6) / units;
}

/** Warnings every scenario checks: a saturated load generator, a broker that did nothing. */
export function commonWarnings(figures: WindowFigures, units: number): string[] {
  const warnings: string[] = [];
  if (figures.loadgen.maxProcessUtilization > LOADGEN_SATURATION) {
    warnings.push(`a load generator process used ${(figures.loadgen.maxProcessUtilization * 100).toFixed(0)}% of a core: it may be the bottleneck`);
  }
  const brokerCpu = figures.broker?.cpuSec;
  if (brokerCpu !== undefined && units > 0 && figures.loadgen.cpuSec > brokerCpu) {
    warnings.push(`the load generator used more CPU than the broker (${figures.loadgen.cpuSec.toFixed(2)} s vs ${brokerCpu.toFixed(2)} s)`);
  }
  if (units === 0) warnings.push('no messages were delivered in the measured window');
  return warnings;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps until the wall-clock time `atMs` (Date.now()); at once if it has passed. */
export function sleepUntil(atMs: number): Promise<void> {
  return sleep(Math.max(0, atMs - Date.now()));
}
