import { HistogramSeries, MS_TELEMETRY, type MetricsRegistry } from '../metrics/index.js';
import type { Labels, Sample } from './telemetry-aggregate.js';
import type { TelemetryAnonymizer } from './telemetry-anonymizer.js';

/**
 * The current figures of every family tagged `ms_telemetry="True"` (the tag Azure's agent selects
 * on), with each label value anonymized. The registry's common labels (iothub, edge_device,
 * instance_number) and the tag itself are not read at all, as Azure removes them.
 */
export function taggedSamples(registry: MetricsRegistry, anonymizer: TelemetryAnonymizer): Sample[] {
  const samples: Sample[] = [];
  for (const definition of registry.definitions()) {
    if (definition.fixedLabels?.ms_telemetry !== MS_TELEMETRY.ms_telemetry) continue;
    const family = registry.family(definition.name);
    if (family === undefined) continue;
    for (const { labelValues, series } of family.entries()) {
      const labels: Labels = {};
      definition.labelNames.forEach((name, i) => {
        labels[name] = anonymizer.label(name, labelValues[i] ?? '');
      });
      if (series instanceof HistogramSeries) {
        samples.push({ name: definition.name, type: 'histogram', labels, bounds: [...series.bounds], counts: [...series.counts], sum: series.sum, count: series.count });
      } else {
        samples.push({ name: definition.name, type: definition.type === 'gauge' ? 'gauge' : 'counter', labels, value: series.value });
      }
    }
  }
  return samples;
}
