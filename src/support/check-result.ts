/**
 * One result of `outpost check`. `skip` is a check that does not apply to this setup (the
 * container engine under the process runtime, an upstream link that is not configured): it is
 * said, never counted as passed or failed.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id (Azure's naming style: kebab-case), for --output json consumers and docs/operations.md. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found, in one line. */
  readonly message: string;
  /** How to fix it (warn and fail). */
  readonly hint?: string;
  /** Every problem found, one per line (a manifest's problems, a certificate per file). */
  readonly details?: readonly string[];
}

export function result(id: string, title: string, status: CheckStatus, message: string, hint?: string, details?: readonly string[]): CheckResult {
  return { id, title, status, message, ...(hint === undefined ? {} : { hint }), ...(details === undefined || details.length === 0 ? {} : { details }) };
}
