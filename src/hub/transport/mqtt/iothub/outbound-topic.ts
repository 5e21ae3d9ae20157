/**
 * Topics the hub publishes to IoT Hub clients (notes section 5.3, EdgeHub `OutboundTemplates` and
 * `TwinAddressHelper`):
 *
 *   moduleInput    devices/{d}/modules/{m}/inputs/{input}/{bag}
 *   cloudToDevice  devices/{d}/messages/devicebound/{bag}
 *   twinResponse   $iothub/twin/res/{status}/?$rid={rid}[&$version={v}]
 *   desiredPatch   $iothub/twin/PATCH/properties/desired/?$version={v}
 *   methodRequest  $iothub/methods/POST/{method}/?$rid={rid}
 *
 * A message bag holds the application properties, then the system properties of
 * OUTBOUND_SYSTEM_KEYS (`$.cdid`/`$.cmid` are the sender's connection ids). The `/` before the bag
 * is always written, even for an empty bag: the Node SDK only dispatches C2D and input messages
 * whose topic has it (EdgeHub omits it when there are no properties).
 *
 * Ids, names and request ids go into the topic as written, so each is checked to be one non-empty
 * topic level without `+`, `#` or U+0000 (MQTT-4.7.1-1, MQTT-1.5.4-2), and a request id also
 * without `&`, which would split it. The whole topic must fit in 65535 UTF-8 bytes
 * (MQTT-1.5.3); large property bags are what usually break that.
 */
import type { HubMessage } from '../../../message/index.js';
import { appendBagPair } from './encode-property-bag.js';
import { escapeDataString } from './escape-data-string.js';
import type { Refusal } from './iothub-types.js';
import { OUTBOUND_SYSTEM_KEYS, RESERVED_OUTBOUND_KEYS } from './system-property-keys.js';

export type TopicResult = { readonly ok: true; readonly topic: string } | Refusal;

const MAX_TOPIC_BYTES = 65_535;
// One UTF-16 code unit is at most 3 UTF-8 bytes, so shorter strings need no byte count.
const SURELY_SHORT = Math.floor(MAX_TOPIC_BYTES / 3);

function refuse(reason: string): Refusal {
  return { ok: false, code: 'OUTPOST_MQTT_OUTBOUND_TOPIC_INVALID', reason };
}

/** Why `text` cannot be one topic level, or undefined when it can. */
function levelProblem(what: string, text: string, alsoForbidden = ''): string | undefined {
  if (text.length === 0) return `${what} is empty`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '/' || c === '+' || c === '#' || c === '\u0000' || alsoForbidden.includes(c)) {
      return `${what} contains ${JSON.stringify(c)}`;
    }
  }
  return undefined;
}

function checked(topic: string, ...problems: (string | undefined)[]): TopicResult {
  for (const problem of problems) if (problem !== undefined) return refuse(problem);
  if (topic.length > SURELY_SHORT && Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES) {
    return refuse('topic longer than 65535 bytes (too many or too large properties)');
  }
  return { ok: true, topic };
}

// Wire keys of OUTBOUND_SYSTEM_KEYS, escaped once.
const ESCAPED_SYSTEM_KEYS: ReadonlyArray<readonly [string, string]> = OUTBOUND_SYSTEM_KEYS.map(([name, wire]) => [name, escapeDataString(wire)]);

/**
 * The property bag of a message sent to a client: its application properties (without the
 * reserved keys), then the system properties of OUTBOUND_SYSTEM_KEYS; encodePropertyBag's grammar.
 */
function messageBag(message: HubMessage): string {
  const { properties, systemProperties } = message;
  let bag = '';
  for (const key in properties) {
    if (key.length === 0 || !Object.hasOwn(properties, key) || RESERVED_OUTBOUND_KEYS.has(key)) continue;
    bag = appendBagPair(bag, escapeDataString(key), properties[key]);
  }
  for (let i = 0; i < ESCAPED_SYSTEM_KEYS.length; i++) {
    const [name, wire] = ESCAPED_SYSTEM_KEYS[i]!;
    if (Object.hasOwn(systemProperties, name)) bag = appendBagPair(bag, wire, systemProperties[name]);
  }
  return bag;
}

/** `devices/{d}/modules/{m}/inputs/{i}/`, checked once, by device, module and input (no key string per message). */
const inputPrefixes = new Map<string, Map<string, Map<string, TopicResult>>>();
let cachedPrefixes = 0;
const MAX_CACHED_PREFIXES = 1024;

function moduleInputPrefix(deviceId: string, moduleId: string, inputName: string): TopicResult {
  let modules = inputPrefixes.get(deviceId);
  let inputs = modules?.get(moduleId);
  let prefix = inputs?.get(inputName);
  if (prefix === undefined) {
    prefix = checked(`devices/${deviceId}/modules/${moduleId}/inputs/${inputName}/`, levelProblem('device id', deviceId), levelProblem('module id', moduleId), levelProblem('input name', inputName));
    if (cachedPrefixes >= MAX_CACHED_PREFIXES) {
      inputPrefixes.clear();
      cachedPrefixes = 0;
      modules = undefined;
      inputs = undefined;
    }
    if (modules === undefined) inputPrefixes.set(deviceId, (modules = new Map()));
    if (inputs === undefined) modules.set(moduleId, (inputs = new Map()));
    inputs.set(inputName, prefix);
    cachedPrefixes++;
  }
  return prefix;
}

const isStatus = (n: number): boolean => Number.isInteger(n) && n >= 0;
const isVersion = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

export const OutboundTopic = {
  /** A routed message delivered to input `inputName` of module `deviceId/moduleId`. */
  moduleInput(deviceId: string, moduleId: string, inputName: string, message: HubMessage): TopicResult {
    const prefix = moduleInputPrefix(deviceId, moduleId, inputName);
    if (!prefix.ok) return prefix;
    return checked(prefix.topic + messageBag(message));
  },

  /** A cloud-to-device message for device `deviceId` (modules cannot receive C2D). */
  cloudToDevice(deviceId: string, message: HubMessage): TopicResult {
    const topic = `devices/${deviceId}/messages/devicebound/${messageBag(message)}`;
    return checked(topic, levelProblem('device id', deviceId));
  },

  /** The answer to a twin GET or reported-properties PATCH; `version` after a PATCH. */
  twinResponse(status: number, requestId: string, version?: number): TopicResult {
    if (!isStatus(status)) return refuse('status is not a non-negative integer');
    if (version !== undefined && !isVersion(version)) return refuse('version is not a non-negative integer');
    const suffix = version === undefined ? '' : `&$version=${version}`;
    return checked(`$iothub/twin/res/${status}/?$rid=${requestId}${suffix}`, levelProblem('request id', requestId, '&'));
  },

  /** A desired-properties patch notification. */
  desiredPatch(version: number): TopicResult {
    if (!isVersion(version)) return refuse('version is not a non-negative integer');
    return { ok: true, topic: `$iothub/twin/PATCH/properties/desired/?$version=${version}` };
  },

  /** A direct-method call; the client answers on `$iothub/methods/res/{status}/?$rid={requestId}`. */
  methodRequest(methodName: string, requestId: string): TopicResult {
    // '?' would end the method name for every SDK that parses this topic as a URL.
    return checked(
      `$iothub/methods/POST/${methodName}/?$rid=${requestId}`,
      levelProblem('method name', methodName, '?'),
      levelProblem('request id', requestId, '&'),
    );
  },
} as const;
