// Draws an SVG bar chart from a results file: one panel per scenario, one bar per target, the
// headline throughput, and beside each bar the broker's CPU µs per message (or connection).
//   node dist/bench/chart.js bench/results/<timestamp>.json docs/benchmarks.svg [--title TEXT] [--targets a,b]
// No dependencies: the SVG is written as text.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateResultFile, type ResultFile } from './lib/result-schema.js';
import { formatCount } from './lib/table.js';

const WIDTH = 760;
const LABEL_WIDTH = 110;
const BAR_HEIGHT = 20;
const BAR_GAP = 6;
const PANEL_GAP = 34;
const TOP = 72;
const COLORS: Record<string, string> = { outpost: '#2f6fdf', mosquitto: '#3a9a5b', aedes: '#d9822b' };
const FALLBACK_COLOR = '#777';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

export function renderChart(file: ResultFile, title: string): string {
  // Broker scenarios only: a micro-benchmark (target 'local') compares implementations, not brokers.
  const results = file.results.filter((r) => r.target !== 'local');
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const parts: string[] = [];
  let y = TOP;
  const barSpace = WIDTH - LABEL_WIDTH - 200;
  for (const scenario of scenarios) {
    const rows = results.filter((r) => r.scenario === scenario);
    const max = Math.max(1, ...rows.filter((r) => r.status === 'ok').map((r) => r.throughput.value));
    const unit = rows.find((r) => r.status === 'ok')?.throughput.unit ?? '';
    parts.push(`<text x="10" y="${y}" class="scenario">${escapeXml(scenario)} <tspan class="unit">(${escapeXml(unit)}; broker CPU µs per ${unit === 'conn/s' ? 'connection' : 'message'})</tspan></text>`);
    y += 10;
    for (const r of rows) {
      const color = COLORS[r.target] ?? FALLBACK_COLOR;
      parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escapeXml(r.target)}</text>`);
      if (r.status === 'ok') {
        const w = Math.max(1, (r.throughput.value / max) * barSpace);
        const cpu = r.cpuMicrosPerUnit.broker === null ? '' : `, ${r.cpuMicrosPerUnit.broker.toFixed(r.cpuMicrosPerUnit.broker < 10 ? 2 : 0)} µs`;
        parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}"/>`);
        parts.push(`<text x="${(LABEL_WIDTH + w + 6).toFixed(1)}" y="${y + 15}">${escapeXml(formatCount(r.throughput.value))}${escapeXml(cpu)}</text>`);
      } else {
        parts.push(`<text x="${LABEL_WIDTH}" y="${y + 15}" class="na">${escapeXml(r.status)}</text>`);
      }
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += PANEL_GAP - BAR_GAP;
  }
  const height = y + 10;
  const subtitle = `${file.machine.cpus} × ${file.machine.cpuModel}, ${file.startedAt.slice(0, 10)}, ${file.options.loadgen === 'c' ? 'C' : 'Node'} load generator${file.options.quick ? ', quick' : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="13">`,
    '<style>.scenario{font-weight:bold;font-size:14px}.unit{font-weight:normal;fill:#555;font-size:12px}.na{fill:#999;font-style:italic}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="40" fill="#555" font-size="12">${escapeXml(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function main(argv: readonly string[]): number {
  const [input, output] = argv;
  if (input === undefined || output === undefined) {
    process.stderr.write('usage: node dist/bench/chart.js <results.json> <out.svg> [--title TEXT] [--targets a,b]\n');
    return 2;
  }
  const titleAt = argv.indexOf('--title');
  const title = titleAt >= 0 ? (argv[titleAt + 1] ?? '') : 'MQTT broker throughput (higher is better)';
  const targetsAt = argv.indexOf('--targets');
  const only = targetsAt >= 0 ? new Set((argv[targetsAt + 1] ?? '').split(',')) : undefined;
  const file: unknown = JSON.parse(readFileSync(input, 'utf8'));
  const problems = validateResultFile(file);
  if (problems.length > 0) {
    process.stderr.write(`chart: ${input} is not a results file:\n  ${problems.slice(0, 5).join('\n  ')}\n`);
    return 1;
  }
  const results = file as ResultFile;
  const shown = only === undefined ? results : { ...results, results: results.results.filter((r) => only.has(r.target)) };
  writeFileSync(output, renderChart(shown, title));
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main(process.argv.slice(2)));
