import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const LogLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; stdout when absent. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

/**
 * JSON lines to stdout. Every line has a stable `event` name; data goes in fields, never in the
 * message text, so lines can be filtered and counted by tools.
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: credentials must never reach a log line even if a caller slips.
      redact: { paths: ['password', 'sasToken', 'sharedAccessKey', '*.password', '*.sasToken', '*.sharedAccessKey'], censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return base;
}
