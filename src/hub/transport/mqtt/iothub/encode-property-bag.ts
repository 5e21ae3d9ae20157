/**
 * Encodes properties as an IoT Hub property bag, the inverse of decodePropertyBag: `k=v` joined by
 * `&`, a null value as the bare key, every key and value escaped by escapeDataString (so `$.mid`
 * goes out as `%24.mid`, as the Node SDK and IoT Hub send it). A property with an empty name
 * cannot be written in this grammar (`=v` is refused by every decoder) and is left out.
 */
import { escapeDataString } from './escape-data-string.js';

export function encodePropertyBag(properties: Iterable<readonly [string, string | null]>): string {
  let bag = '';
  for (const [key, value] of properties) {
    if (key.length > 0) bag = appendBagPair(bag, escapeDataString(key), value);
  }
  return bag;
}

/** `bag` with one more property: `escapedKey` (already escaped, not empty) and its value escaped. */
export function appendBagPair(bag: string, escapedKey: string, value: string | null | undefined): string {
  const pair = typeof value === 'string' ? `${escapedKey}=${escapeDataString(value)}` : escapedKey;
  return bag.length > 0 ? `${bag}&${pair}` : pair;
}
