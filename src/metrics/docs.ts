import type { MetricDefinition } from './metric-family.js';
import { AgentMetrics } from './agent-metrics.js';
import { HubMetrics } from './hub-metrics.js';
import { MetricsRegistry } from './metrics-registry.js';
import { NOT_SERVED } from './not-served.js';
import { OutpostMetrics } from './outpost-metrics.js';

/** Every family the process registers, in exposition order (a registry with nothing attached). */
export function metricDefinitions(): MetricDefinition[] {
  const registry = new MetricsRegistry();
  new HubMetrics(registry, 'edge');
  new OutpostMetrics(registry);
  new AgentMetrics(registry);
  return registry.definitions();
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

function table(definitions: readonly MetricDefinition[]): string[] {
  const rows = ['| Metric | Type | Labels | Help |', '|---|---|---|---|'];
  for (const d of definitions) {
    const labels = [...d.labelNames, ...Object.entries(d.fixedLabels ?? {}).map(([k, v]) => `${k}="${v}"`)];
    const help = d.note === undefined ? d.help : `${d.help}. ${d.note}`;
    const type = d.type === 'histogram' ? `histogram (${d.buckets?.join(', ') ?? ''})` : d.type;
    rows.push(`| \`${d.name}\` | ${type} | ${labels.length === 0 ? '–' : labels.map((l) => `\`${l}\``).join(', ')} | ${cell(help)} |`);
  }
  return rows;
}

/** docs/metrics.md, generated (`npm run docs`) and kept in sync by test/metrics. */
export function renderMetricsDoc(): string {
  const all = metricDefinitions();
  const hub = all.filter((d) => d.name.startsWith('edgehub_'));
  const agent = all.filter((d) => d.name.startsWith('edgeAgent_'));
  const own = all.filter((d) => d.name.startsWith('outpost_'));
  return [
    '# Metrics',
    '',
    '<!-- Generated from src/metrics by `npm run docs`; do not edit by hand. -->',
    '',
    'Outpost serves Prometheus metrics in the text exposition format under the names, labels and types of',
    'Azure IoT Edge\'s edgeHub and edgeAgent (`doc/BuiltInMetrics.md` upstream), so existing Grafana',
    'dashboards and Azure\'s `azureiotedge-metrics-collector` read them unchanged, plus Outpost\'s own',
    'under `outpost_`. Hub and agent run in one process and share one endpoint.',
    '',
    '## Where',
    '',
    '- `GET /metrics` on the HTTPS listener (`https.port`), unless `metrics.enabled` is false. That',
    '  listener faces the devices\' network and the series name every device and module, so it needs',
    '  `Authorization: SharedAccessSignature sr=…` with a token of the edge device itself or of one of',
    '  its modules (a child device\'s token is refused, 401). In Prometheus:',
    '  `authorization: {type: SharedAccessSignature, credentials: "sr=…&sig=…&se=…"}` with `scheme: https`.',
    '- `GET /metrics` on plain HTTP without authentication, like Azure\'s port 9600, when',
    '  `metrics.plain` is on (setting `metrics.port` or `--metrics-port` turns it on). It binds',
    '  `metrics.host`, loopback by default: anyone who reaches it reads every metric.',
    '',
    'See docs/config.md for the settings.',
    '',
    '## Labels and types',
    '',
    'Every series carries Azure\'s common labels `iothub` (the IoT hub host name), `edge_device` (the',
    'edge device id) and `instance_number` (a new UUID each time the process starts: counters restart',
    'from 0 with it). Metrics that Azure marks for its runtime-quality telemetry carry',
    '`ms_telemetry="True"`, as Azure\'s do; Outpost sends them, anonymized, as runtime quality telemetry',
    '(docs/telemetry.md).',
    '',
    'Azure reports durations and sizes as summaries (quantiles over a sliding window). Outpost reports',
    'them as histograms with the fixed buckets listed below: `_sum` and `_count` are the same, and',
    'quantiles come from `histogram_quantile()` at query time. Keeping a summary\'s sample window',
    'would cost memory and work on every message; a histogram observation is a few array slots.',
    '',
    'A family holds at most 2000 label sets; past that, new ones are counted in one series whose',
    'labels all read `other` (client ids and twin ids come from clients).',
    '',
    'Counters kept by the hub\'s parts (store, broker, C2D, MQTT protocol errors) and the gauges (queue',
    'lengths, connected clients, disk, memory) are read when scraped. What a message costs on its',
    'way: when written, one cached sender lookup, two increments and one histogram observation; when',
    'acknowledged by its endpoint, two map lookups, one cached sender lookup, one increment and two',
    'histogram observations; per append batch, one histogram observation and two additions.',
    '',
    '## edgeHub',
    '',
    ...table(hub),
    '',
    '## edgeAgent',
    '',
    ...table(agent),
    '',
    'promtool warns that `edgeAgent_…` names are camelCase; they are Azure\'s names, kept so',
    'dashboards match.',
    '',
    '## Outpost',
    '',
    ...table(own),
    '',
    '## Azure metrics not served yet',
    '',
    '| Metric | Why |',
    '|---|---|',
    ...Object.entries(NOT_SERVED).map(([name, why]) => `| \`${name}\` | ${cell(why)} |`),
    '',
  ].join('\n');
}
