import { randomUUID } from 'node:crypto';
import { arch, platform } from 'node:os';
import { SystemProperty, type HubMessage } from '../hub/message/index.js';
import { hasData, type AggregateState, type Labels } from './telemetry-aggregate.js';

/** `$messageSchema` of the message and `schema` in its body; a change of the body's shape bumps it. */
export const TELEMETRY_SCHEMA = 'outpost-runtime-quality/1';
/** The identity the message is sent on, as Azure's agent sends its diagnostics on its own. */
export const TELEMETRY_MODULE_ID = '$edgeAgent';
const CONTENT_TYPE = 'application/json';
const CONTENT_ENCODING = 'utf-8';
/** `edgeHubOriginInterface` of a message the edge device itself produced (as the MQTT adapter writes it). */
const ORIGIN_INTERNAL = 'internal';
/** Below IoT Hub's 256 KiB message limit with room for properties; series past it are left out. */
export const MAX_BODY_BYTES = 240 * 1024;

export type ReportMetric =
  | { name: string; type: 'counter'; labels: Labels; value: number }
  | { name: string; type: 'gauge'; labels: Labels; min: number; max: number; mean: number; last: number; samples: number }
  | { name: string; type: 'histogram'; labels: Labels; bounds: number[]; counts: number[]; sum: number; count: number };

/** The body, documented field by field in docs/telemetry.md. */
export interface TelemetryReport {
  schema: typeof TELEMETRY_SCHEMA;
  runtime: { name: 'outpost'; version: string; platform: string; arch: string; node: string };
  period: { start: string; end: string; scrapes: number; processStarts: number };
  metrics: ReportMetric[];
  /** Series left out to stay under MAX_BODY_BYTES (0 normally). */
  omittedSeries: number;
}

/** The report of the current period: only series that changed in it. */
export function buildReport(state: AggregateState, nowMs: number, version: string): TelemetryReport {
  const metrics: ReportMetric[] = [];
  for (const series of Object.values(state.series)) {
    if (!hasData(series)) continue;
    if (series.type === 'counter') metrics.push({ name: series.name, type: 'counter', labels: series.labels, value: series.total });
    else if (series.type === 'gauge') metrics.push({ name: series.name, type: 'gauge', labels: series.labels, min: series.min, max: series.max, mean: series.sum / series.samples, last: series.last, samples: series.samples });
    else metrics.push({ name: series.name, type: 'histogram', labels: series.labels, bounds: series.bounds, counts: series.counts, sum: series.sum, count: series.count });
  }
  metrics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    schema: TELEMETRY_SCHEMA,
    runtime: { name: 'outpost', version, platform: platform(), arch: arch(), node: process.version },
    period: { start: new Date(state.periodStartMs).toISOString(), end: new Date(nowMs).toISOString(), scrapes: state.scrapes, processStarts: state.processStarts },
    metrics,
    omittedSeries: 0,
  };
}

/** The report as message bytes, leaving series out (from the end) while it is over MAX_BODY_BYTES. */
export function encodeReport(report: TelemetryReport): Buffer {
  let body = Buffer.from(JSON.stringify(report), 'utf8');
  while (body.byteLength > MAX_BODY_BYTES && report.metrics.length > 0) {
    // Drop about as many as the excess needs, at least one, so a large report takes few passes.
    const share = Math.max(1, Math.ceil((report.metrics.length * (body.byteLength - MAX_BODY_BYTES)) / body.byteLength));
    report.metrics.splice(report.metrics.length - share, share);
    report.omittedSeries += share;
    body = Buffer.from(JSON.stringify(report), 'utf8');
  }
  return body;
}

/** One device-to-cloud message from `<deviceId>/$edgeAgent`, routed like any module's. */
export function telemetryMessage(deviceId: string, body: Buffer, nowMs: number): HubMessage {
  const timestamp = new Date(nowMs).toISOString();
  const systemProperties: Record<string, string> = {
    [SystemProperty.MessageId]: randomUUID(),
    [SystemProperty.ContentType]: CONTENT_TYPE,
    [SystemProperty.ContentEncoding]: CONTENT_ENCODING,
    [SystemProperty.MessageSchema]: TELEMETRY_SCHEMA,
    [SystemProperty.CreationTime]: timestamp,
    [SystemProperty.ConnectionDeviceId]: deviceId,
    [SystemProperty.ConnectionModuleId]: TELEMETRY_MODULE_ID,
    [SystemProperty.EdgeMessageId]: randomUUID(),
    [SystemProperty.EnqueuedTime]: timestamp,
    [SystemProperty.EdgeHubOriginInterface]: ORIGIN_INTERNAL,
  };
  return { source: `/messages/modules/${TELEMETRY_MODULE_ID}/`, body, properties: {}, systemProperties, enqueuedAtMs: nowMs };
}
