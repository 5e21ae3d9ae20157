import type { BinaryOp, ConditionNode } from './condition-ast.js';
import { Tok, type Token } from './route-lexer.js';
import { fail } from './route-problem.js';

/**
 * Precedence-climbing parser for conditions (Azure's `Condition.g4`, section 4.4 of the notes).
 * Binding, tightest first: unary `-` and NOT; `* / %`; `+ - ||`; `< <= > >=`; `= != <>`; AND; OR;
 * `??`. All binary operators are left-associative. Unary operators take a single operand without
 * binary operators, so `NOT a = b` is `(NOT a) = b`, as in Azure.
 */

const BINARY: ReadonlyMap<Tok, readonly [BinaryOp, number]> = new Map<Tok, readonly [BinaryOp, number]>([
  [Tok.Mul, ['*', 7]], [Tok.Div, ['/', 7]], [Tok.Mod, ['%', 7]],
  [Tok.Plus, ['+', 6]], [Tok.Minus, ['-', 6]], [Tok.Concat, ['||', 6]],
  [Tok.Lt, ['<', 5]], [Tok.Le, ['<=', 5]], [Tok.Gt, ['>', 5]], [Tok.Ge, ['>=', 5]],
  [Tok.Eq, ['=', 4]], [Tok.Ne1, ['!=', 4]], [Tok.Ne2, ['<>', 4]],
  [Tok.And, ['and', 3]], [Tok.Or, ['or', 2]], [Tok.Coalesce, ['??', 1]],
]);

/** A position in a token list over one text; shared by the route parser and the condition parser. */
export class TokenCursor {
  index = 0;

  constructor(
    readonly text: string,
    readonly tokens: readonly Token[],
  ) {}

  peek(ahead = 0): Token {
    // The list always ends with Eof, and the cursor never moves past it.
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  next(): Token {
    const token = this.peek();
    if (token.kind !== Tok.Eof) this.index++;
    return token;
  }

  expect(kind: Tok, what: string): Token {
    const token = this.peek();
    if (token.kind !== kind) this.syntax(`expected ${what} but found ${describeToken(token)}`, token);
    return this.next();
  }

  syntax(reason: string, token: Token): never {
    return fail('OUTPOST_ROUTE_SYNTAX', reason, this.text, token.start, token.end - token.start);
  }
}

export function describeToken(token: Token): string {
  if (token.kind === Tok.Eof) return 'the end of the text';
  if (token.kind === Tok.UnterminatedString) return `an unterminated string ${JSON.stringify(token.text)}`;
  return `'${token.text}'`;
}

/** Parses one condition expression starting at the cursor; the caller checks what follows it. */
export function parseExpression(cursor: TokenCursor, minPrecedence = 1): ConditionNode {
  let left = parseUnary(cursor);
  for (;;) {
    const token = cursor.peek();
    const binary = BINARY.get(token.kind);
    if (binary === undefined || binary[1] < minPrecedence) return left;
    cursor.next();
    const [op, precedence] = binary;
    const next = cursor.peek();
    if (op === '=' && next.kind === Tok.Eq && next.start === token.end) cursor.syntax("'==' is not an operator: write '=' for equality", token);
    const right = parseExpression(cursor, precedence + 1);
    left = { kind: 'binary', op, opStart: token.start, opText: token.text, left, right, start: left.start, end: right.end };
  }
}

function parseUnary(cursor: TokenCursor): ConditionNode {
  const token = cursor.peek();
  if (token.kind === Tok.Minus || token.kind === Tok.Not) {
    cursor.next();
    const operand = parseUnary(cursor);
    const op = token.kind === Tok.Minus ? '-' : 'not';
    return { kind: 'unary', op, opStart: token.start, opText: token.text, operand, start: token.start, end: operand.end };
  }
  return parsePrimary(cursor);
}

function parsePrimary(cursor: TokenCursor): ConditionNode {
  const token = cursor.next();
  const span = { start: token.start, end: token.end };
  switch (token.kind) {
    case Tok.LParen: {
      const inner = parseExpression(cursor);
      const close = cursor.peek();
      if (close.kind !== Tok.RParen) cursor.syntax(`missing closing ')' for the '(' at offset ${token.start}: found ${describeToken(close)}`, close);
      cursor.next();
      return { ...inner, start: token.start, end: close.end };
    }
    case Tok.String:
      return { kind: 'string', value: unescape(token.text.slice(1, -1)), ...span };
    case Tok.Integer:
    case Tok.Real:
      return { kind: 'number', value: decimalValue(token.text), text: token.text, ...span };
    case Tok.Hex:
      return { kind: 'number', value: hexValue(token.text), text: token.text, ...span };
    case Tok.True:
    case Tok.False:
      return { kind: 'bool', value: token.kind === Tok.True, ...span };
    case Tok.Null:
      return { kind: 'null', ...span };
    case Tok.Undefined:
      return { kind: 'undefined', ...span };
    case Tok.SysProp:
      return { kind: 'sysProperty', name: token.text, ...span };
    case Tok.LBrace: {
      const name = cursor.expect(Tok.SysProp, "a system property such as '$contentType' inside '{ }'");
      const close = cursor.expect(Tok.RBrace, "'}'");
      return { kind: 'sysEscaped', name: name.text, nameStart: name.start, start: token.start, end: close.end };
    }
    case Tok.Id:
      if (cursor.peek().kind === Tok.LParen) return parseCall(cursor, token);
      return { kind: 'property', name: token.text, ...span };
    case Tok.UnterminatedString:
      return cursor.syntax(
        // The lexer stops an unterminated string in front of an invalid escape such as \n.
        cursor.text.charAt(token.end) === '\\'
          ? `unterminated string: the only escapes are \\" \\' \\\\ and \\uXXXX`
          : 'unterminated string: add the closing quote',
        token,
      );
    case Tok.QueryPath:
      return cursor.syntax(`'${token.text}' is not a valid name: only $body queries may contain '[' or ']'`, token);
    case Tok.Unknown:
      return cursor.syntax(`invalid symbol '${token.text}'`, token);
    case Tok.Eof:
      return cursor.syntax('expected a value, a property or a function call but the condition ends here', token);
    default:
      return cursor.syntax(`expected a value, a property or a function call but found ${describeToken(token)}`, token);
  }
}

function parseCall(cursor: TokenCursor, name: Token): ConditionNode {
  cursor.next(); // '('
  const args: ConditionNode[] = [];
  const first = cursor.index;
  if (cursor.peek().kind !== Tok.RParen) {
    for (;;) {
      args.push(parseExpression(cursor));
      if (cursor.peek().kind !== Tok.Comma) break;
      cursor.next();
    }
  }
  const argsText = cursor.tokens.slice(first, cursor.index).map((t) => t.text).join('');
  const close = cursor.peek();
  if (close.kind !== Tok.RParen) cursor.syntax(`expected ',' or ')' in the arguments of ${name.text}() but found ${describeToken(close)}`, close);
  cursor.next();
  return { kind: 'call', name: name.text, nameStart: name.start, args, argsText, start: name.start, end: close.end };
}

/** `\"`, `\'`, `\\` and `\uXXXX`, read left to right (the lexer admits no other escape). */
function unescape(body: string): string {
  if (!body.includes('\\')) return body;
  return body.replace(/\\(u[0-9a-fA-F]{4}|["'\\])/g, (_, escape: string) =>
    escape.length === 1 ? escape : String.fromCharCode(Number.parseInt(escape.slice(1), 16)),
  );
}

/**
 * Numbers are IEEE doubles, as in Azure (`double.TryParse`), so `10e1000` is +Infinity. A REAL
 * token without a digit before its exponent (`e5`) gives NaN, which the compiler rejects.
 */
function decimalValue(text: string): number {
  return /\d/.test(text.replace(/[eE].*$/, '')) ? Number(text) : Number.NaN;
}

/** Hex literals are read as a signed 64-bit integer (`long.TryParse`); wider ones give NaN. */
function hexValue(text: string): number {
  const digits = text.slice(2).replace(/^0+(?=.)/, '');
  if (digits.length > 16) return Number.NaN;
  return Number(BigInt.asIntN(64, BigInt(`0x${digits}`)));
}
