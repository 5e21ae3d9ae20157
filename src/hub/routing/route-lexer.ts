/**
 * The lexer of the route language, a faithful port of Azure's `GrammarLexer.g4` (section 4.3 of
 * the notes). It reproduces ANTLR's rule: at each position the longest match wins, and on a tie the
 * rule defined first wins. That is why `3+4` is one property name, `'a'||'b'` is one property
 * name, `-undefined` is a property name and `-1` is a number: users' routes depend on these traps,
 * so they are kept, and documented in docs/routing.md.
 */

export const enum Tok {
  LBrace, RBrace, Select, From, Where, Into, String, UnterminatedString, Integer, Hex, Real,
  True, False, Null, Undefined, LParen, RParen, Comma, Plus, Minus, Mul, Div, Mod, And, Or, Not,
  Eq, Ne1, Ne2, Le, Ge, Gt, Lt, Concat, Coalesce, SysProp, Id, QueryPath, Unknown, Eof,
}

export interface Token {
  readonly kind: Tok;
  readonly text: string;
  /** Offset of the first character in the lexed text. */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
}

// Characters that end an ID (GrammarLexer ID_CHARS) and a QUERY_PATH / SYS_PROP (QUERY_PATH_CHARS,
// which also allows '[' and ']'). Only these four whitespace characters are whitespace: any other
// (no-break space, U+2028, form feed) is an ordinary name character, as in Azure.
const QUERY_PATH_STOP = new Set('()<>@,;:\\"/?={} \t\n\r');
const ID_STOP = new Set([...QUERY_PATH_STOP, '[', ']']);

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** Fixed tokens, in grammar order (earlier wins a tie). Keywords match case-insensitively. */
const FIXED: ReadonlyArray<readonly [Tok, string, boolean]> = [
  [Tok.LBrace, '{', false], [Tok.RBrace, '}', false],
  [Tok.Select, 'select', true], [Tok.From, 'from', true], [Tok.Where, 'where', true], [Tok.Into, 'into', true],
];
const FIXED_AFTER_NUMBERS: ReadonlyArray<readonly [Tok, string, boolean]> = [
  [Tok.True, 'true', false], [Tok.False, 'false', false], [Tok.Null, 'null', false], [Tok.Undefined, 'undefined', false],
  [Tok.LParen, '(', false], [Tok.RParen, ')', false], [Tok.Comma, ',', false], [Tok.Plus, '+', false],
  [Tok.Minus, '-', false], [Tok.Mul, '*', false], [Tok.Div, '/', false], [Tok.Mod, '%', false],
  [Tok.And, 'and', true], [Tok.Or, 'or', true], [Tok.Not, 'not', true], [Tok.Eq, '=', false],
  [Tok.Ne1, '!=', false], [Tok.Ne2, '<>', false], [Tok.Le, '<=', false], [Tok.Ge, '>=', false],
  [Tok.Gt, '>', false], [Tok.Lt, '<', false], [Tok.Concat, '||', false], [Tok.Coalesce, '??', false],
];

export function lexRoute(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const c = text.charCodeAt(pos);
    if (isWs(c)) {
      pos++;
      continue;
    }
    let kind = Tok.Unknown;
    let length = 0;
    const consider = (k: Tok, n: number) => {
      if (n > length) {
        kind = k;
        length = n;
      }
    };
    for (const [k, word, ci] of FIXED) consider(k, matchWord(text, pos, word, ci));
    consider(Tok.String, matchString(text, pos, true));
    consider(Tok.UnterminatedString, matchString(text, pos, false));
    consider(Tok.Integer, matchInteger(text, pos));
    consider(Tok.Hex, matchHex(text, pos));
    consider(Tok.Real, matchReal(text, pos));
    for (const [k, word, ci] of FIXED_AFTER_NUMBERS) consider(k, matchWord(text, pos, word, ci));
    if (c === 36 /* $ */) {
      const n = run(text, pos + 1, QUERY_PATH_STOP);
      if (n > 0) consider(Tok.SysProp, n + 1);
    }
    consider(Tok.Id, run(text, pos, ID_STOP));
    consider(Tok.QueryPath, run(text, pos, QUERY_PATH_STOP));
    // A comment is hidden from the parser; it wins only when it is the longest match, and it
    // needs its closing "*/" (without one, "/*" is a '/' and a '*', as in `FROM /* INTO …`).
    if (c === 47 && text.charCodeAt(pos + 1) === 42) {
      const close = text.indexOf('*/', pos + 2);
      if (close >= 0 && close + 2 - pos > length) {
        pos = close + 2;
        continue;
      }
    }
    if (length === 0) {
      // UNKNOWN_CHAR: one UTF-16 code unit; the parser reports it.
      kind = Tok.Unknown;
      length = 1;
    }
    tokens.push({ kind, text: text.slice(pos, pos + length), start: pos, end: pos + length });
    pos += length;
  }
  tokens.push({ kind: Tok.Eof, text: '', start: text.length, end: text.length });
  return tokens;
}

function matchWord(text: string, pos: number, word: string, caseInsensitive: boolean): number {
  const candidate = text.slice(pos, pos + word.length);
  if (candidate.length !== word.length) return 0;
  return (caseInsensitive ? candidate.toLowerCase() === word : candidate === word) ? word.length : 0;
}

function run(text: string, pos: number, stop: ReadonlySet<string>): number {
  let end = pos;
  while (end < text.length && !stop.has(text[end]!)) end++;
  return end - pos;
}

/**
 * STRING is a quote, then escapes (\" \' \\ \uXXXX) or any character but that quote and a
 * backslash, then the same quote. UNTERMINATED_STRING is the same without the closing quote, so
 * it also stops in front of an invalid escape such as \n.
 */
function matchString(text: string, pos: number, terminated: boolean): number {
  const quote = text.charCodeAt(pos);
  if (quote !== 34 && quote !== 39) return 0;
  let i = pos + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === quote) return terminated ? i + 1 - pos : i - pos;
    if (c === 92 /* \ */) {
      const next = text.charCodeAt(i + 1);
      if (next === 34 || next === 39 || next === 92) i += 2;
      else if (next === 117 /* u */ && isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3)) && isHex(text.charCodeAt(i + 4)) && isHex(text.charCodeAt(i + 5))) i += 6;
      else break;
    } else i++;
  }
  return terminated ? 0 : i - pos;
}

function digits(text: string, pos: number): number {
  let end = pos;
  while (isDigit(text.charCodeAt(end))) end++;
  return end - pos;
}

function matchInteger(text: string, pos: number): number {
  const sign = text.charCodeAt(pos) === 45 ? 1 : 0;
  const n = digits(text, pos + sign);
  return n === 0 ? 0 : sign + n;
}

function matchHex(text: string, pos: number): number {
  if (text.charCodeAt(pos) !== 48) return 0;
  const x = text.charCodeAt(pos + 1);
  if (x !== 120 && x !== 88) return 0;
  let end = pos + 2;
  while (isHex(text.charCodeAt(end))) end++;
  return end - pos > 2 ? end - pos : 0;
}

/** REAL: -? [0-9]* '.' [0-9]+ EXP?  |  -? [0-9]* EXP, with EXP = [eE] [+-]? [0-9]+. */
function matchReal(text: string, pos: number): number {
  let i = pos + (text.charCodeAt(pos) === 45 ? 1 : 0);
  i += digits(text, i);
  let fraction = false;
  if (text.charCodeAt(i) === 46) {
    const n = digits(text, i + 1);
    if (n > 0) {
      fraction = true;
      i += 1 + n;
    }
  }
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69) {
    let j = i + 1;
    const sign = text.charCodeAt(j);
    if (sign === 43 || sign === 45) j++;
    const n = digits(text, j);
    if (n > 0) return j + n - pos;
  }
  return fraction ? i - pos : 0;
}
