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
    if (key.length === 0) continue;
    if (bag.length > 0) bag += '&';
    bag += escapeDataString(key);
    if (value !== null) bag += '=' + escapeDataString(value);
  }
  return bag;
}
