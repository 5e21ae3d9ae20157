import { createLogger, type Logger } from '../../src/log/index.js';

export interface LogLine {
  readonly level: string;
  readonly event?: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/** A real pino logger writing JSON lines into memory. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; events: () => string[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  return { logger, lines, events: () => lines.map((line) => line.event ?? '') };
}
