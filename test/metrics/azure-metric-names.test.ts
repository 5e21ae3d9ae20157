/**
 * Every metric of Azure's edgeHub and edgeAgent (the tables of section 8 of
 * ../shared/reference/azure-iot-edge-notes.md) is served under its name, type and labels, or listed
 * as not served yet with a reason; and docs/metrics.md is what src/metrics generates.
 *
 * The reference lives outside the repository; test/fixtures/azure-metrics-reference.md is its
 * section 8, used where the reference is absent and checked equal to it where it is present.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { metricDefinitions, NOT_SERVED, renderMetricsDoc } from '../../src/metrics/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REFERENCE = join(ROOT, '..', 'shared', 'reference', 'azure-iot-edge-notes.md');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'azure-metrics-reference.md');

function sectionEight(text: string): string {
  const start = text.indexOf('## 8. Metrics');
  const end = text.indexOf('\n## 9.', start);
  assert.ok(start >= 0 && end > start, 'section 8 of the reference not found');
  return text.slice(start, end + 1);
}

interface AzureMetric {
  readonly name: string;
  readonly type: string;
  readonly labels: string[];
}

/** The rows of the section's metric tables; a row naming two metrics (`a` / `b`) gives both. */
function azureMetrics(section: string): AzureMetric[] {
  const metrics: AzureMetric[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1]!.startsWith('`')) continue;
    const names = [...cells[1]!.matchAll(/`([A-Za-z_]+)`/g)].map((m) => m[1]!);
    const type = cells[2]!.split(' ')[0]!;
    // Label cells: `a, b`, `–`, or with notes in parentheses (`reason (`no_route` | …), from`).
    const labels = cells[3]!
      .replace(/\([^)]*\)/g, '')
      .split(',')
      .map((l) => l.trim())
      .filter((l) => /^[a-z_]+$/.test(l));
    for (const name of names) metrics.push({ name: name.startsWith('_') ? names[0]!.replace(/_[a-z]+_bytes$/, '') + name : name, type, labels });
  }
  return metrics;
}

describe('Azure metric names', () => {
  const fixture = readFileSync(FIXTURE, 'utf8');

  it('the fixture is section 8 of the reference (when the reference is present)', (t) => {
    if (!existsSync(REFERENCE)) return t.diagnostic(`${REFERENCE} absent: using the fixture`);
    assert.equal(fixture, sectionEight(readFileSync(REFERENCE, 'utf8')));
  });

  it('every Azure metric is served with its type and labels, or listed as not served yet', () => {
    const azure = azureMetrics(fixture);
    assert.ok(azure.length >= 40, `only ${azure.length} metrics parsed from the reference`);
    const served = new Map(metricDefinitions().map((d) => [d.name, d]));
    const problems: string[] = [];
    for (const metric of azure) {
      const definition = served.get(metric.name);
      if (definition === undefined) {
        if (NOT_SERVED[metric.name] === undefined) problems.push(`${metric.name}: neither served nor listed in NOT_SERVED`);
        continue;
      }
      if (NOT_SERVED[metric.name] !== undefined) problems.push(`${metric.name}: served and listed as not served`);
      // Azure's summaries are served as histograms (docs/metrics.md says why).
      const expected = metric.type === 'summary' ? 'histogram' : metric.type;
      if (definition.type !== expected) problems.push(`${metric.name}: type ${definition.type}, Azure ${metric.type}`);
      const labels = [...definition.labelNames, ...Object.keys(definition.fixedLabels ?? {})];
      for (const label of metric.labels) if (!labels.includes(label)) problems.push(`${metric.name}: label ${label} missing`);
    }
    for (const name of Object.keys(NOT_SERVED)) if (!azure.some((m) => m.name === name)) problems.push(`NOT_SERVED lists ${name}, which Azure does not have`);
    assert.deepEqual(problems, []);
  });

  it('docs/metrics.md matches src/metrics (run `npm run docs` after changing a metric)', () => {
    assert.equal(readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8'), renderMetricsDoc());
  });
});
