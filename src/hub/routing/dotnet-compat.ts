/**
 * The few .NET behaviours the route language exposes and JavaScript does differently: number
 * parsing for `as_number` (`double.TryParse(NumberStyles.Any, InvariantCulture)`), invariant
 * upper/lower case (one character to one character, so `upper('ß')` stays `ß`), `Math.Pow`'s
 * IEEE rules for ±1, and which JSON strings Json.NET reads as dates (a `$body` query on those is
 * Undefined, section 4.7 of the notes).
 */

// NumberStyles.Any with the invariant culture: surrounding white space (U+0009-U+000D, U+0020), a
// leading or trailing sign or parentheses, the currency sign ¤, ',' thousands separators in the
// integer part, a '.' decimal point and an exponent.
const DOTNET_NUMBER = /^[\t-\r ]*(\()?([+-])?¤?([+-])?((?:\d[\d,]*)?(?:\.\d*)?)(?:[eE]([+-]?\d+))?¤?([+-])?(\))?[\t-\r ]*$/;
const DOTNET_SYMBOL = /^[\t-\r ]*([+-])?(infinity|∞|nan)[\t-\r ]*$/i;

/** Returns NaN (Undefined in the route language) when .NET would refuse the text. */
export function parseDotNetDouble(text: string): number {
  if (isPlainDecimal(text)) return +text;
  const match = DOTNET_NUMBER.exec(text);
  if (match === null) {
    const symbol = DOTNET_SYMBOL.exec(text);
    if (symbol === null || symbol[2]!.toLowerCase() === 'nan') return Number.NaN;
    return symbol[1] === '-' ? -Infinity : Infinity;
  }
  const [, open, lead1, lead2, mantissa, exponent, trail, close] = match;
  if (!/\d/.test(mantissa!)) return Number.NaN;
  const signs = [lead1, lead2, trail].filter((s) => s !== undefined);
  if (signs.length > 1 || (open === undefined) !== (close === undefined) || (open !== undefined && signs.length > 0)) return Number.NaN;
  const value = Number(`${mantissa!.replace(/,/g, '')}${exponent === undefined ? '' : `e${exponent}`}`.replace(/^\./, '0.'));
  return open !== undefined || signs[0] === '-' ? -value : value;
}

/**
 * `-?digits[.digits]`: nearly every property value as_number sees. Number() reads these exactly
 * as .NET does, and skipping the general pattern keeps property routes allocation-free.
 */
function isPlainDecimal(text: string): boolean {
  const length = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const digitsStart = i;
  while (i < length && isDigitCode(text.charCodeAt(i))) i++;
  if (i === digitsStart) return false;
  if (i === length) return true;
  if (text.charCodeAt(i) !== 46) return false;
  const fractionStart = ++i;
  while (i < length && isDigitCode(text.charCodeAt(i))) i++;
  return i === length && i > fractionStart;
}

const isDigitCode = (c: number) => c >= 48 && c <= 57;

/**
 * ToUpperInvariant: simple (1:1) case mapping, unlike String#toUpperCase, which maps ß to SS. The
 * full mappings that differ from the simple ones all change the length, so an unchanged length
 * means toUpperCase did the simple thing.
 */
export function upperInvariant(s: string): string {
  const upper = s.toUpperCase();
  return upper.length === s.length ? upper : mapSimple(s, (c) => c.toUpperCase());
}

/** ToLowerInvariant; also avoids toLowerCase's context-sensitive final sigma (Σ → ς). */
export function lowerInvariant(s: string): string {
  const lower = s.toLowerCase();
  return lower.length === s.length && !s.includes('\u03a3') ? lower : mapSimple(s, (c) => c.toLowerCase());
}

function mapSimple(s: string, map: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const mapped = map(c);
    // A mapping that changes the length (ß → SS, İ → i̇) is not a simple mapping: keep the original.
    out += mapped.length === c.length ? mapped : c;
  }
  return out;
}

/** Math.Pow: like Math.pow but 1 for a base of ±1 and an infinite exponent (IEEE 754-2008). */
export function powDotNet(x: number, y: number): number {
  if ((x === 1 || x === -1) && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/**
 * Json.NET (DateParseHandling.DateTime) turns a JSON string into a date when it is
 * "yyyy-MM-ddTHH:mm:ss[.fffffff][Z|±HH[:mm]]" (19 to 40 characters, a valid date) or "/Date(ms)/".
 */
export function isJsonNetDate(s: string): boolean {
  if (s.length >= 19 && s.length <= 40 && s.charCodeAt(10) === 84 /* T */) {
    const m = ISO_DATE.exec(s);
    if (m === null) return false;
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    const hour = Number(m[4]);
    const minute = Number(m[5]);
    const second = Number(m[6]);
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const daysInMonth = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
    return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 24 && minute < 60 && second < 60 && (hour < 24 || (minute === 0 && second === 0 && m[7] === undefined));
  }
  return s.startsWith('/Date(') && s.endsWith(')/') && /^\/Date\(-?\d+([+-]\d{4})?\)\/$/.test(s);
}
