export { RuntimeQualityTelemetry, MIN_INTERVAL_MS, type RuntimeQualityTelemetryOptions } from './runtime-quality-telemetry.js';
export { TelemetryAnonymizer, hostIdentifyingValues, HASH_PREFIX, DEVICE_REPLACEMENT, type IdentifyingValues } from './telemetry-anonymizer.js';
export { TelemetryFiles, parseAggregate, TELEMETRY_DIR, AGGREGATE_FILE, SALT_FILE, CORRUPT_SUFFIX } from './telemetry-files.js';
export { adoptInstance, freshAggregate, recordScrape, startPeriod, hasData, MAX_AGGREGATE_SERIES, AGGREGATE_FORMAT, type AggregateState, type Sample, type SeriesState } from './telemetry-aggregate.js';
export { buildReport, encodeReport, telemetryMessage, TELEMETRY_SCHEMA, TELEMETRY_MODULE_ID, MAX_BODY_BYTES, type TelemetryReport, type ReportMetric } from './telemetry-report.js';
export { taggedSamples } from './tagged-samples.js';
