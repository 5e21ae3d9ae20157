import { OutpostError } from '../errors/index.js';
import { HistogramSeries, MetricFamily, type Counter, type Gauge, type Histogram, type MetricDefinition } from './metric-family.js';

/** Fills gauges (and anything read rather than counted) just before a scrape is rendered. */
export type Collector = () => void | Promise<void>;

/**
 * Every metric family of the process (hub and agent), its common labels and the collectors that
 * read figures kept elsewhere (store stats, broker counters) at scrape time. Renders the
 * Prometheus text exposition format 0.0.4.
 */
export class MetricsRegistry {
  private readonly families = new Map<string, MetricFamily>();
  private readonly collectors: Collector[] = [];
  private readonly commonText: string;

  /** `common`: labels on every series (Azure: iothub, edge_device, instance_number). */
  constructor(readonly common: Readonly<Record<string, string>> = {}) {
    this.commonText = Object.entries(common)
      .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
      .join(',');
  }

  counter(definition: Omit<MetricDefinition, 'type'>): Counter {
    return this.add({ ...definition, type: 'counter' }) as Counter;
  }

  gauge(definition: Omit<MetricDefinition, 'type'>): Gauge {
    return this.add({ ...definition, type: 'gauge' }) as Gauge;
  }

  histogram(definition: Omit<MetricDefinition, 'type'> & { buckets: readonly number[] }): Histogram {
    return this.add({ ...definition, type: 'histogram' }) as Histogram;
  }

  onCollect(collector: Collector): void {
    this.collectors.push(collector);
  }

  definitions(): MetricDefinition[] {
    return [...this.families.values()].map((f) => f.definition);
  }

  family(name: string): MetricFamily | undefined {
    return this.families.get(name);
  }

  /** Runs the collectors (gauges read from the parts), without rendering: runtime quality telemetry reads families. */
  async collect(): Promise<void> {
    for (const collect of this.collectors) await collect();
  }

  /** Runs the collectors, then renders every family, or only those named in `names` (a name no family has is refused: a typo would read as an empty figure). */
  async scrape(names?: ReadonlySet<string>): Promise<string> {
    const unknown = names === undefined ? [] : [...names].filter((name) => !this.families.has(name));
    if (unknown.length > 0) throw new OutpostError('OUTPOST_CLI_USAGE', `no metric family named ${unknown.join(', ')}`, { details: { unknown } });
    await this.collect();
    return this.render(names);
  }

  /**
   * The Prometheus text of every family, or only of those named in `names` (a poller that wants
   * one figure: with a series per identity the whole text of a hub with 1,000 identities takes
   * milliseconds to render, and a bench polling it every 100 ms took a tenth of the hub's thread).
   */
  render(names?: ReadonlySet<string>): string {
    const out: string[] = [];
    for (const family of this.families.values()) {
      const { name, help, type, labelNames, fixedLabels } = family.definition;
      if (names !== undefined && !names.has(name)) continue;
      out.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
      const fixed = Object.entries(fixedLabels ?? {}).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      const base = [this.commonText, ...fixed].filter((s) => s !== '').join(',');
      for (const { labelValues, series } of family.entries()) {
        const own = labelNames.map((label, i) => `${label}="${escapeLabelValue(labelValues[i] ?? '')}"`).join(',');
        const labels = [base, own].filter((s) => s !== '').join(',');
        if (series instanceof HistogramSeries) {
          let cumulative = 0;
          for (let i = 0; i < series.counts.length; i++) {
            cumulative += series.counts[i]!;
            const le = i < series.bounds.length ? formatNumber(series.bounds[i]!) : '+Inf';
            out.push(`${name}_bucket{${labels === '' ? '' : `${labels},`}le="${le}"} ${formatNumber(cumulative)}\n`);
          }
          out.push(`${name}_sum${wrap(labels)} ${formatNumber(series.sum)}\n${name}_count${wrap(labels)} ${formatNumber(series.count)}\n`);
        } else {
          out.push(`${name}${wrap(labels)} ${formatNumber(series.value)}\n`);
        }
      }
    }
    return out.join('');
  }

  private add(definition: MetricDefinition): MetricFamily {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(definition.name)) throw new Error(`invalid metric name ${definition.name}`);
    if (this.families.has(definition.name)) throw new Error(`metric ${definition.name} registered twice`);
    const family = new MetricFamily(definition);
    this.families.set(definition.name, family);
    return family;
  }
}

function wrap(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

/** Prometheus text format: label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
