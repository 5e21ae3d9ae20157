import { type ErrorCode, type ErrorKind, errorSpec } from './registry.js';

export type ErrorDetails = Readonly<Record<string, unknown>>;

/** The shape an error takes when it crosses a worker or process boundary. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

/**
 * The one error class of the project. `code` is stable and listed in docs/errors.md; `details`
 * carries structured data for the log (never credentials or payloads); `cause` chains the original.
 */
export class OutpostError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
    this.details = options.details;
  }

  get kind(): ErrorKind {
    return errorSpec(this.code).kind;
  }

  toJSON(): SerializedError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(data: SerializedError): OutpostError {
    return new OutpostError(data.code, data.message, data.details === undefined ? {} : { details: data.details });
  }
}

export function isOutpostError(value: unknown): value is OutpostError {
  return value instanceof OutpostError;
}

/** Wraps anything thrown into an OutpostError, keeping an OutpostError as it is. */
export function toOutpostError(value: unknown, code: ErrorCode = 'OUTPOST_INTERNAL'): OutpostError {
  if (value instanceof OutpostError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new OutpostError(code, message, { cause: value });
}
