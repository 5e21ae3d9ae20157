import { OutpostError, type ErrorCode } from '../../errors/index.js';

/**
 * Why a route or condition was rejected, and where. Positions are relative to the text that was
 * compiled (the route string, or the bare condition): `offset` counts UTF-16 code units from 0,
 * `line` and `column` count from 1, so an editor and `outpost check` point at the same place.
 */
export type RouteErrorCode = Extract<
  ErrorCode,
  'OUTPOST_ROUTE_SYNTAX' | 'OUTPOST_ROUTE_TYPE' | 'OUTPOST_ROUTE_INVALID_SINK' | 'OUTPOST_ROUTE_INVALID_SPEC'
>;

export interface RouteProblem {
  readonly code: RouteErrorCode;
  readonly reason: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  /** Length of the offending token or text (at least 1), for an underline. */
  readonly length: number;
}

export function makeProblem(code: RouteErrorCode, reason: string, text: string, offset: number, length = 1): RouteProblem {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { code, reason, offset: at, line, column: at - lineStart + 1, length: Math.max(1, length) };
}

/** "reason at line 1, column 27 (offset 26)": the one-line form used in logs and `outpost check`. */
export function describeProblem(problem: RouteProblem): string {
  return `${problem.reason} at line ${problem.line}, column ${problem.column} (offset ${problem.offset})`;
}

/** The text with a caret line under the problem, for terminals. Only the offending line is shown. */
export function pointAtProblem(text: string, problem: RouteProblem): string {
  const start = text.lastIndexOf('\n', problem.offset - 1) + 1;
  const newline = text.indexOf('\n', start);
  const line = text.slice(start, newline < 0 ? text.length : newline).replace(/\r$/, '');
  const width = Math.max(1, Math.min(problem.length, line.length - (problem.column - 1)));
  // Tabs keep their width in the caret line so the caret lines up under the token.
  const pad = line.slice(0, problem.column - 1).replace(/[^\t]/g, ' ');
  return `${line}\n${pad}${'^'.repeat(width)}`;
}

export function problemToError(problem: RouteProblem, context: { route?: string; text?: string } = {}): OutpostError {
  const where = context.route === undefined ? '' : `route "${context.route}": `;
  return new OutpostError(problem.code, `${where}${describeProblem(problem)}`, {
    details: { ...context, ...problem },
  });
}

/**
 * Thrown inside the parser and compiler only, and always caught at the public entry points,
 * which return results instead (STYLE: route matching returns results, never throws).
 */
export class RouteFailure extends Error {
  constructor(readonly problem: RouteProblem) {
    super(problem.reason);
  }
}

export function fail(code: RouteErrorCode, reason: string, text: string, offset: number, length = 1): never {
  throw new RouteFailure(makeProblem(code, reason, text, offset, length));
}
