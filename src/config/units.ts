/**
 * Human units for configuration values: durations ("250ms", "30s", "5m", "1h", "1d", combinations
 * such as "1m30s", and .NET TimeSpan text "00:01:00" / "1.00:00:00" because Azure's variables use
 * it) and sizes ("256KiB", "1MiB", "100KB", "512B"). Parsers return undefined instead of throwing:
 * the caller reports the problem with its source.
 */

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

export const DURATION_PATTERN = '^(?:(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h|d))+|(?:\\d+\\.)?\\d{1,2}:\\d{2}:\\d{2}(?:\\.\\d{1,7})?)$';
export const BYTES_PATTERN = '^\\d+(?:\\.\\d+)?\\s*(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$';

export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  const span = TIMESPAN.exec(trimmed);
  if (span !== null) {
    const [, days, hours, minutes, seconds, fraction] = span;
    if (Number(minutes) > 59 || Number(seconds) > 59) return undefined;
    const fractionMs = fraction === undefined ? 0 : Number(`0.${fraction}`) * 1000;
    return (
      Number(days ?? 0) * DURATION_UNITS_MS.d! +
      Number(hours) * DURATION_UNITS_MS.h! +
      Number(minutes) * DURATION_UNITS_MS.m! +
      Number(seconds) * 1000 +
      Math.round(fractionMs)
    );
  }
  if (trimmed.length === 0) return undefined;
  DURATION_PART.lastIndex = 0;
  let totalMs = 0;
  let consumed = 0;
  for (let match = DURATION_PART.exec(trimmed); match !== null; match = DURATION_PART.exec(trimmed)) {
    totalMs += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
    consumed = DURATION_PART.lastIndex;
  }
  return consumed === trimmed.length ? Math.round(totalMs) : undefined;
}

export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

const BYTES = new RegExp(BYTES_PATTERN);

export function parseBytes(text: string): number | undefined {
  const trimmed = text.trim();
  if (!BYTES.test(trimmed)) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(trimmed);
  if (match === null) return undefined;
  const factor = BYTE_UNITS[match[2] === '' ? 'B' : match[2]!];
  if (factor === undefined) return undefined;
  const bytes = Number(match[1]) * factor;
  return Number.isSafeInteger(Math.round(bytes)) ? Math.round(bytes) : undefined;
}

export function formatBytes(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const size = BYTE_UNITS[unit]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
