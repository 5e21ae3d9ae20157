import type { ConditionNode } from './condition-ast.js';
import { TokenCursor, describeToken, parseExpression } from './condition-parser.js';
import { Tok, lexRoute, type Token } from './route-lexer.js';
import { RouteFailure, type RouteProblem } from './route-problem.js';
import { normalizeSource } from './route-source.js';

/**
 * Parser for the route statement (Azure's `Route.g4`, section 4.1 of the notes):
 *
 *   route := [ SELECT '*' ] FROM path [ WHERE condition ] INTO sink
 *   path  := ( '/' ( '*' | ID ) )+
 *   sink  := SYS_PROP | ID '(' STRING ')'
 *
 * Parsing only checks syntax, as Azure's RouteFactory does; types are checked when the condition
 * is compiled. One deliberate difference: Azure ignores anything after the sink (issue #4353: a
 * trailing WHERE is silently dropped), Outpost rejects it.
 */

export type ParsedSink =
  | { readonly kind: 'system'; readonly name: string; readonly start: number; readonly end: number }
  | {
      readonly kind: 'function';
      readonly name: string;
      /** The string's contents between the quotes, raw: no unescaping, as in Azure. */
      readonly address: string;
      readonly start: number;
      readonly end: number;
      readonly addressStart: number;
    };

export interface ParsedRoute {
  readonly text: string;
  /** The FROM path as written (tokens concatenated, like ANTLR's GetText). */
  readonly sourceText: string;
  /** The FROM path normalized for matching (section 4.2). */
  readonly source: string;
  /** The condition exactly as written, or "true" when there is no WHERE. */
  readonly condition: string;
  /** Offset of the condition in the route text; -1 when there is no WHERE. */
  readonly conditionStart: number;
  /** The parsed condition, or null when there is no WHERE. */
  readonly conditionNode: ConditionNode | null;
  readonly sink: ParsedSink;
}

export type RouteParseResult = { ok: true; route: ParsedRoute } | { ok: false; problem: RouteProblem };

export function parseRoute(text: string): RouteParseResult {
  try {
    return { ok: true, route: parseRouteOrThrow(text) };
  } catch (error) {
    if (error instanceof RouteFailure) return { ok: false, problem: error.problem };
    throw error;
  }
}

export function parseRouteOrThrow(text: string): ParsedRoute {
  const cursor = new TokenCursor(text, lexRoute(text));
  const first = cursor.peek();
  if (first.kind === Tok.Eof) cursor.syntax('the route is empty: expected FROM <source> [WHERE <condition>] INTO <sink>', first);
  if (first.kind === Tok.Select) {
    cursor.next();
    cursor.expect(Tok.Mul, "'*' after SELECT (only SELECT * is supported)");
  }
  const from = cursor.peek();
  if (from.kind !== Tok.From) cursor.syntax(`expected FROM but found ${describeToken(from)}`, from);
  cursor.next();
  const sourceText = parsePath(cursor);

  let condition = 'true';
  let conditionStart = -1;
  let conditionNode: ConditionNode | null = null;
  if (cursor.peek().kind === Tok.Where) {
    cursor.next();
    const startToken = cursor.peek();
    if (startToken.kind === Tok.Into || startToken.kind === Tok.Eof) cursor.syntax('WHERE needs a condition', startToken);
    conditionNode = parseExpression(cursor);
    conditionStart = startToken.start;
    // Verbatim, from the first to the last character of the condition (Azure's ExitRoutecondition).
    condition = text.slice(startToken.start, cursor.tokens[cursor.index - 1]!.end);
  }
  const into = cursor.peek();
  if (into.kind !== Tok.Into) {
    const hint = conditionNode === null ? 'WHERE or INTO' : 'an operator or INTO';
    cursor.syntax(`expected ${hint} but found ${describeToken(into)}`, into);
  }
  cursor.next();
  const sink = parseSink(cursor);
  const rest = cursor.peek();
  if (rest.kind !== Tok.Eof) {
    cursor.syntax(`unexpected ${describeToken(rest)} after the sink: nothing may follow INTO <sink> (Azure would ignore it silently)`, rest);
  }
  return { text, sourceText, source: normalizeSource(sourceText), condition, conditionStart, conditionNode, sink };
}

function parsePath(cursor: TokenCursor): string {
  let path = '';
  do {
    const slash = cursor.peek();
    if (slash.kind !== Tok.Div) cursor.syntax(`expected a source path starting with '/' (such as /messages/*) but found ${describeToken(slash)}`, slash);
    cursor.next();
    const item = cursor.peek();
    if (item.kind !== Tok.Mul && item.kind !== Tok.Id) {
      cursor.syntax(`expected a path segment or '*' after '/' but found ${describeToken(item)}`, item);
    }
    cursor.next();
    path += `/${item.text}`;
  } while (cursor.peek().kind === Tok.Div);
  return path;
}

function parseSink(cursor: TokenCursor): ParsedSink {
  const token = cursor.peek();
  if (token.kind === Tok.SysProp) {
    cursor.next();
    return { kind: 'system', name: token.text, start: token.start, end: token.end };
  }
  if (token.kind === Tok.Id) {
    cursor.next();
    const open = cursor.peek();
    if (open.kind !== Tok.LParen) {
      const hint = token.text.toLowerCase() === 'upstream' ? " (did you mean '$upstream'?)" : '';
      cursor.syntax(`expected '(' after ${token.text}${hint} but found ${describeToken(open)}`, open);
    }
    cursor.next();
    const address: Token = cursor.expect(Tok.String, 'a quoted endpoint address such as "/modules/<module>/inputs/<input>"');
    const close = cursor.expect(Tok.RParen, "')'");
    return {
      kind: 'function',
      name: token.text,
      address: address.text.slice(1, -1),
      start: token.start,
      end: close.end,
      addressStart: address.start + 1,
    };
  }
  return cursor.syntax(`expected a sink ($upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>")) but found ${describeToken(token)}`, token);
}
