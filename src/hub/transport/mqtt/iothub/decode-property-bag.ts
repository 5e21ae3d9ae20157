/**
 * Decodes an IoT Hub property bag (`k1=v1&k2&k3=`), the last topic level of telemetry and module
 * output topics, with the grammar of the `UrlEncodedDictionarySerializer` EdgeHub uses
 * (Microsoft.Azure.Devices.Client.Common, via `MessageAddressConverter`):
 *
 * - `&` separates properties; `k=v` is a property; `k` alone is a property with a null value;
 *   `k=` is a property whose value is the empty string (EdgeHub's copy yields null here too; we
 *   keep null and empty apart so every bag round-trips).
 * - Keys and values are url-unescaped with `Uri.UnescapeDataString` rules after every raw `?` is
 *   removed (the serializer treats a raw `?` as a query-string marker, so `?$.ct=x` is `$.ct`;
 *   an escaped `%3F` is kept).
 * - Errors, as in the serializer's tokenizer: an empty name (`=v`, `&&`, a leading `&`), a bag
 *   ending in `&`, and a raw `=` inside a value.
 * - A raw `/` ends the bag; the rest is ignored. (Topic matching never hands us one.)
 * - For a repeated key the last value wins (the serializer assigns into a dictionary).
 */
import type { PropertyMap, Refusal } from './iothub-types.js';
import { unescapeDataString } from './unescape-data-string.js';

export type PropertyBagResult = { readonly ok: true; readonly properties: PropertyMap } | Refusal;

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const SLASH = 0x2f;

function refuse(reason: string): Refusal {
  return { ok: false, code: 'OUTPOST_MQTT_BAD_PROPERTY_BAG', reason };
}

function token(text: string, start: number, end: number): string {
  let raw = text.slice(start, end);
  if (raw.indexOf('?') !== -1) raw = raw.replaceAll('?', '');
  return unescapeDataString(raw);
}

export function decodePropertyBag(text: string): PropertyBagResult {
  const properties = new Map<string, string | null>();
  const length = text.length;
  let pos = 0;
  while (length > 0) {
    // Ready to read a key.
    if (pos >= length) return refuse('property bag ends with "&"');
    let code = text.charCodeAt(pos);
    if (code === EQUALS || code === AMPERSAND) return refuse(`property with an empty name at offset ${pos}`);
    if (code === SLASH) break;

    const keyStart = pos;
    while (pos < length) {
      code = text.charCodeAt(pos);
      if (code === EQUALS || code === AMPERSAND || code === SLASH) break;
      pos++;
    }
    const key = token(text, keyStart, pos);
    if (pos >= length || code !== EQUALS) {
      properties.set(key, null);
      if (pos >= length || code === SLASH) break;
      pos++; // past '&'
      continue;
    }

    pos++; // past '='
    const valueStart = pos;
    while (pos < length) {
      code = text.charCodeAt(pos);
      if (code === EQUALS) return refuse(`"=" inside the value of property at offset ${keyStart}`);
      if (code === AMPERSAND || code === SLASH) break;
      pos++;
    }
    properties.set(key, token(text, valueStart, pos));
    if (pos >= length || code === SLASH) break;
    pos++; // past '&'
  }
  return { ok: true, properties };
}
