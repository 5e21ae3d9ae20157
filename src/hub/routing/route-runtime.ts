import { isJsonNetDate, lowerInvariant, parseDotNetDouble, powDotNet, upperInvariant } from './dotnet-compat.js';

/**
 * The helpers generated condition code calls. Values by static type (section 4.5 of the notes):
 *
 * - Bool: a number, True = 1, Undefined = 0, False = -1 (Azure's `Bool` struct), so AND is the
 *   minimum, OR the maximum and NOT the negation — the three-valued tables of section 4.6.
 * - double: a number; NaN is Undefined (Azure's `Undefined.IsDefined(double)`).
 * - string: a string, `null` for a property present without a value, `undefined` when missing.
 * - Null (the literal `null`): `null`. Undefined (the literal): `undefined`.
 * - QueryValue (a `$body` value, dynamic): `undefined` (None), `null` (Null), a number, a string,
 *   `true`/`false`, or NULL_STRING for a string-typed null (an application property without value
 *   reached through `$body.x` shadowing), which Azure keeps apart from a JSON null.
 *
 * Comparators return -1, 0, 1, or UNDEF when either side is undefined.
 */

export type Tri = 1 | 0 | -1;
export const Tri = { True: 1, Undefined: 0, False: -1 } as const;

/** A string-typed null inside a QueryValue. Frozen and never exposed to users. */
export const NULL_STRING: object = Object.freeze({ nullString: true });

export type QueryValue = number | string | boolean | null | undefined | typeof NULL_STRING;

const UNDEF = 2;
type Cmp = -1 | 0 | 1 | typeof UNDEF;

const order = (a: number | string, b: number | string): -1 | 0 | 1 => (a === b ? 0 : a < b ? -1 : 1);

function cmpS(a: string | null | undefined, b: string | null | undefined): Cmp {
  // Ordinal comparison: JS compares UTF-16 code units, as StringComparison.Ordinal does.
  return typeof a !== 'string' || typeof b !== 'string' ? UNDEF : order(a, b);
}

function cmpD(a: number, b: number): Cmp {
  return a !== a || b !== b ? UNDEF : order(a, b);
}

function cmpB(a: Tri, b: Tri): Cmp {
  return a === 0 || b === 0 ? UNDEF : order(a, b);
}

// QueryValueType order: Bool < Double < String < Null; different types compare by that order.
function rank(q: QueryValue): number {
  return typeof q === 'boolean' ? 1 : typeof q === 'number' ? 2 : q === null ? 4 : 3;
}

function cmpQ(a: QueryValue, b: QueryValue): Cmp {
  if (a === undefined || b === undefined) return UNDEF;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') {
    // double.CompareTo: NaN equals NaN and sorts first (a QueryValue sum can be NaN).
    if (a !== a || b !== b) return a !== a && b !== b ? 0 : a !== a ? -1 : 1;
    return order(a, b);
  }
  if (typeof a === 'boolean') return order(a ? 1 : -1, b ? 1 : -1);
  if (ra === 4) return 0;
  // Strings; string.Compare puts null before every string.
  if (a === NULL_STRING || b === NULL_STRING) return a === b ? 0 : a === NULL_STRING ? -1 : 1;
  return order(a as string, b as string);
}

const eq = (c: Cmp): Tri => (c === UNDEF ? 0 : c === 0 ? 1 : -1);
const ne = (c: Cmp): Tri => (c === UNDEF ? 0 : c !== 0 ? 1 : -1);
const lt = (c: Cmp): Tri => (c === UNDEF ? 0 : c < 0 ? 1 : -1);
const le = (c: Cmp): Tri => (c === UNDEF ? 0 : c <= 0 ? 1 : -1);
const gt = (c: Cmp): Tri => (c === UNDEF ? 0 : c === 1 ? 1 : -1);
const ge = (c: Cmp): Tri => (c === UNDEF ? 0 : c >= 0 ? 1 : -1);

// Conversions into a QueryValue (Azure's implicit operators) and back into a static type (what a
// built-in does with a QueryValue argument: use it if it has the expected type, else Undefined).
const qS = (s: string | null | undefined): QueryValue => (s === null ? NULL_STRING : s);
const qD = (d: number): QueryValue => (d !== d ? undefined : d);
const qB = (b: Tri): QueryValue => (b === 0 ? undefined : b === 1);
const sQ = (q: QueryValue): string | null | undefined => (typeof q === 'string' ? q : q === NULL_STRING ? null : undefined);
const dQ = (q: QueryValue): number => (typeof q === 'number' ? q : Number.NaN);
const bQ = (q: QueryValue): Tri => (q === true ? 1 : q === false ? -1 : 0);

// Arithmetic on QueryValues: only two numbers give a number.
const addQ = (a: QueryValue, b: QueryValue): QueryValue => (typeof a === 'number' && typeof b === 'number' ? a + b : undefined);
const subQ = (a: QueryValue, b: QueryValue): QueryValue => (typeof a === 'number' && typeof b === 'number' ? a - b : undefined);
const mulQ = (a: QueryValue, b: QueryValue): QueryValue => (typeof a === 'number' && typeof b === 'number' ? a * b : undefined);
const divQ = (a: QueryValue, b: QueryValue): QueryValue => (typeof a === 'number' && typeof b === 'number' ? a / b : undefined);
const modQ = (a: QueryValue, b: QueryValue): QueryValue => (typeof a === 'number' && typeof b === 'number' ? a % b : undefined);
const negQ = (a: QueryValue): QueryValue => (typeof a === 'number' ? -a : undefined);

const and = (a: Tri, b: Tri): Tri => (a < b ? a : b);
const or = (a: Tri, b: Tri): Tri => (a > b ? a : b);
// QueryValue & | !: defined only when the operands are booleans, else Undefined.
const andQ = (a: QueryValue, b: QueryValue): Tri => (typeof a === 'boolean' && typeof b === 'boolean' ? (a && b ? 1 : -1) : 0);
const orQ = (a: QueryValue, b: QueryValue): Tri => (typeof a === 'boolean' && typeof b === 'boolean' ? (a || b ? 1 : -1) : 0);
const notQ = (a: QueryValue): Tri => (typeof a === 'boolean' ? (a ? -1 : 1) : 0);

// Coalesce: the left side unless it is undefined.
const coS = (a: string | null | undefined, b: string | null | undefined) => (a !== undefined ? a : b);
const coD = (a: number, b: number) => (a === a ? a : b);
const coB = (a: Tri, b: Tri): Tri => (a !== 0 ? a : b);
const coQ = (a: QueryValue, b: QueryValue): QueryValue => (a !== undefined ? a : b);

const isDefS = (s: string | null | undefined): Tri => (s !== undefined ? 1 : -1);
const isDefD = (d: number): Tri => (d === d ? 1 : -1);
const isDefB = (b: Tri): Tri => (b !== 0 ? 1 : -1);
const isDefQ = (q: QueryValue): Tri => (q !== undefined ? 1 : -1);
const isNullS = (s: string | null | undefined): Tri => (s === null ? 1 : -1);
/**
 * Deliberately not Azure's: Azure answers True for any present $body value and False for a missing
 * path (a reference comparison bug, section 4.9). Here a JSON null, a missing path and a
 * property without value are null; everything else is not.
 */
const isNullQ = (q: QueryValue): Tri => (q === undefined ? 0 : q === null || q === NULL_STRING ? 1 : -1);
const isNumD = (d: number): Tri => (Number.isFinite(d) ? 1 : -1);
const isNumQ = (q: QueryValue): Tri => (typeof q === 'number' && Number.isFinite(q) ? 1 : -1);
const isStrS = (s: string | null | undefined): Tri => (typeof s === 'string' ? 1 : -1);
const isStrQ = (q: QueryValue): Tri => (typeof q === 'string' ? 1 : -1);
const isBoolB = (b: Tri): Tri => (b === 0 ? 0 : 1);
const isBoolQ = (q: QueryValue): Tri => (q === undefined ? 0 : typeof q === 'boolean' ? 1 : -1);

const asNumS = (s: string | null | undefined): number => (typeof s === 'string' ? parseDotNetDouble(s) : Number.NaN);
const asNumQ = (q: QueryValue): number => (typeof q === 'number' ? q : typeof q === 'string' ? parseDotNetDouble(q) : Number.NaN);

/** concat and ||: a null string counts as "", an undefined one makes the result undefined. */
const cat = (a: string | null | undefined, b: string | null | undefined): string | undefined =>
  a === undefined || b === undefined ? undefined : (a ?? '') + (b ?? '');
const len = (s: string | null | undefined): number => (typeof s === 'string' ? s.length : Number.NaN);
const lower = (s: string | null | undefined) => (typeof s === 'string' ? lowerInvariant(s) : undefined);
const upper = (s: string | null | undefined) => (typeof s === 'string' ? upperInvariant(s) : undefined);

function sub2(s: string | null | undefined, start: number): string | undefined {
  if (typeof s !== 'string' || !(start >= 0 && start <= s.length)) return undefined;
  return s.substring(Math.trunc(start));
}

function sub3(s: string | null | undefined, start: number, length: number): string | undefined {
  if (typeof s !== 'string' || !(start >= 0 && start < s.length) || !(length >= 0 && length <= s.length - start)) return undefined;
  const from = Math.trunc(start);
  return s.substring(from, from + Math.trunc(length));
}

const indexOf = (s: string | null | undefined, f: string | null | undefined): number =>
  typeof s === 'string' && typeof f === 'string' ? s.indexOf(f) : Number.NaN;
const startsWith = (s: string | null | undefined, f: string | null | undefined): Tri =>
  typeof s === 'string' && typeof f === 'string' ? (s.startsWith(f) ? 1 : -1) : 0;
const endsWith = (s: string | null | undefined, f: string | null | undefined): Tri =>
  typeof s === 'string' && typeof f === 'string' ? (s.endsWith(f) ? 1 : -1) : 0;
const contains = (s: string | null | undefined, f: string | null | undefined): Tri =>
  typeof s === 'string' && typeof f === 'string' ? (s.includes(f) ? 1 : -1) : 0;

/** A $body value that is a string Json.NET would read as a date is Undefined, as in Azure. */
export function bodyValue(node: unknown): QueryValue {
  switch (typeof node) {
    case 'number':
    case 'boolean':
      return node;
    case 'string':
      return isJsonNetDate(node) ? undefined : node;
    case 'object':
      return node === null ? null : undefined;
    default:
      return undefined;
  }
}

/** Every name generated code may use. The compiler only ever emits these names. */
export const RUNTIME = {
  cmpS, cmpD, cmpB, cmpQ, eq, ne, lt, le, gt, ge, qS, qD, qB, sQ, dQ, bQ,
  addQ, subQ, mulQ, divQ, modQ, negQ, and, or, andQ, orQ, notQ, coS, coD, coB, coQ,
  isDefS, isDefD, isDefB, isDefQ, isNullS, isNullQ, isNumD, isNumQ, isStrS, isStrQ, isBoolB, isBoolQ,
  asNumS, asNumQ, cat, len, lower, upper, sub2, sub3, indexOf, startsWith, endsWith, contains,
  abs: Math.abs, exp: Math.exp, pow: powDotNet, square: (x: number) => x * x, ceiling: Math.ceil,
  floor: Math.floor, sign: Math.sign, sqrt: Math.sqrt,
} as const;

export type RuntimeName = keyof typeof RUNTIME;
export const RUNTIME_NAMES = Object.keys(RUNTIME) as RuntimeName[];
