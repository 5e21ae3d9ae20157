/**
 * URL-escaping for property bags sent to clients: RFC 2396 unreserved characters (letters, digits
 * and `-_.!~*'()`) stay, everything else becomes `%XX` of its UTF-8 bytes. This is exactly
 * `encodeURIComponent`, which is what the Azure IoT Node SDK uses, so `$` goes out as `%24`, `/`
 * as `%2F`, and `&`, `=`, `+`, `#`, `?` can never break the topic apart. (EdgeHub's .NET
 * `Uri.EscapeDataString` also escapes `!*'()`; every SDK decodes both forms to the same text.)
 */

// A surrogate half without its partner: not encodable as UTF-8, so encodeURIComponent throws.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// Text that needs no escaping (most property names and values): returned as it is.
const UNESCAPED = /^[A-Za-z0-9\-_.!~*'()]*$/;

/** encodeURIComponent that never throws: a lone surrogate is sent as U+FFFD, as UTF-8 writers do. */
export function escapeDataString(text: string): string {
  if (UNESCAPED.test(text)) return text;
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
}
