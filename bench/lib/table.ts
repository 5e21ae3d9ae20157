// The human-readable table printed after a run (the JSON file is the record; this is for eyes).
import type { ScenarioResult } from './result-schema.js';

export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 100) return value.toFixed(0);
  return value.toFixed(1);
}

export function formatMicros(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} s`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} ms`;
  return `${value.toFixed(0)} µs`;
}

export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1024 ** 3) return `${(value / 1024 ** 3).toFixed(2)} GiB`;
  if (abs >= 1024 ** 2) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${value.toFixed(0)} B`;
}

const HEADERS = ['scenario', 'target', 'throughput', 'delivered/s', 'p50', 'p99', 'peak RSS', 'RSS/conn', 'broker CPU', 'loadgen CPU', 'µs/unit broker', 'µs/unit loadgen'];

export function resultRow(r: ScenarioResult): string[] {
  if (r.status !== 'ok') return [r.scenario, r.target, r.status.toUpperCase(), r.error ?? '', '', '', '', '', '', '', '', ''];
  const fixed = (v: number | null | undefined, digits: number): string => (v === null || v === undefined ? '-' : v.toFixed(digits));
  return [
    r.scenario,
    r.target,
    `${formatCount(r.throughput.value)} ${r.throughput.unit}`,
    formatCount(r.metrics['deliveredPerSec']),
    formatMicros(r.latency?.p50Micros),
    formatMicros(r.latency?.p99Micros),
    formatBytes(r.broker?.peakRssBytes),
    formatBytes(r.metrics['idleBytesPerConnection']),
    r.broker === null ? '-' : `${r.broker.cpuSec.toFixed(2)} s`,
    r.loadgen.processes === 0 ? '-' : `${r.loadgen.cpuSec.toFixed(2)} s`,
    fixed(r.cpuMicrosPerUnit.broker, 2),
    fixed(r.cpuMicrosPerUnit.loadgen, 2),
  ];
}

const VARIANT_HEADERS = ['scenario', 'variant', 'throughput', 'ns/unit', '× baseline', 'trials (min-max)'];

/** One row per implementation measured by a micro-benchmark. */
export function variantRows(results: readonly ScenarioResult[]): string[][] {
  return results.flatMap((r) =>
    (r.variants ?? []).map((v) => [
      r.scenario,
      v.name,
      `${formatCount(v.value)} ${v.unit}/s`,
      v.nsPerUnit >= 100 ? v.nsPerUnit.toFixed(0) : v.nsPerUnit.toFixed(1),
      v.relative === null ? '-' : `${v.relative.toFixed(2)}×`,
      `${formatCount(v.min)}-${formatCount(v.max)}`,
    ]),
  );
}

function padded(headers: readonly string[], rows: readonly string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** A plain-text table; columns padded, the error text of a failed row left unpadded at the end. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const micro = variantRows(results);
  const main = formatMainTable(results);
  return micro.length === 0 ? main : `${main}\n\nmicro-benchmarks (× baseline: ÷ the scenario's baseline variant, the one at 1.00×, measured in the same run):\n${padded(VARIANT_HEADERS, micro).join('\n')}`;
}

function formatMainTable(results: readonly ScenarioResult[]): string {
  const rows = results.map(resultRow);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.filter((r, j) => results[j]?.status === 'ok' || i < 3).map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(HEADERS), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of rows) out.push(line(row));
  const warned = results.filter((r) => r.warnings.length > 0);
  if (warned.length > 0) {
    out.push('', 'warnings:');
    for (const r of warned) for (const w of r.warnings) out.push(`  ${r.scenario} / ${r.target}: ${w}`);
  }
  return out.join('\n');
}

/** Markdown rows for docs/benchmarks.md. */
export function formatMarkdown(results: readonly ScenarioResult[]): string {
  const out = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => ' --- ').join('|')}|`];
  for (const r of results) out.push(`| ${resultRow(r).join(' | ')} |`);
  const micro = variantRows(results);
  if (micro.length > 0) {
    out.push('', `| ${VARIANT_HEADERS.join(' | ')} |`, `|${VARIANT_HEADERS.map(() => ' --- ').join('|')}|`);
    for (const row of micro) out.push(`| ${row.join(' | ')} |`);
  }
  return out.join('\n');
}
