// Reading and printing one figure of a scenario result, the same way for every gate check.
import type { ScenarioResult } from './result-schema.js';

/**
 * 'throughput' (the headline), 'peakRssBytes' (the broker's VmHWM), 'brokerCpuMicros' (the
 * broker's CPU µs per message or connection in the window), or a key of result.metrics.
 */
export function metricOf(result: ScenarioResult, metric: string): number | null {
  if (metric === 'throughput') return result.throughput.value;
  if (metric === 'peakRssBytes') return result.broker?.peakRssBytes ?? null;
  if (metric === 'brokerCpuMicros') return result.cpuMicrosPerUnit.broker;
  const value = result.metrics[metric];
  return value === undefined ? null : value;
}

function isBytes(metric: string): boolean {
  return /Bytes/.test(metric);
}

/** A figure with its unit: 1.21M msg/s, 182.4 MiB, 7.8 KiB, 1.05. */
export function formatFigure(metric: string, value: number, unit = ''): string {
  if (isBytes(metric)) {
    if (Math.abs(value) >= 1024 * 1024) return `${(value / (1024 * 1024)).toFixed(1)} MiB`;
    return `${(value / 1024).toFixed(1)} KiB`;
  }
  if (metric === 'brokerCpuMicros') return `${value.toFixed(2)} µs`;
  const suffix = unit === '' ? '' : ` ${unit}`;
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)}M${suffix}`;
  if (Math.abs(value) >= 1e4) return `${(value / 1e3).toFixed(1)}k${suffix}`;
  if (Math.abs(value) >= 10) return `${value.toFixed(0)}${suffix}`;
  return `${value.toFixed(2)}${suffix}`;
}
