/**
 * Classifies the topic of a PUBLISH from an IoT Hub client (notes section 5.3).
 *
 * Telemetry templates, tried in EdgeHub's order (`MessageAddressConverter`), `{…}` one topic level:
 *   1. devices/{d}/messages/events/{bag}/            2. devices/{d}/messages/events/
 *   3. devices/{d}/modules/{m}/messages/events/{bag}/  4. devices/{d}/modules/{m}/messages/events/
 *   5. the same four without the trailing `/`
 * Twin and method requests follow `TwinAddressHelper` / `MessagingServiceClient`:
 *   $iothub/twin/GET/?$rid={rid}                      ($rid required, no sub-resource)
 *   $iothub/twin/PATCH/properties/reported/?$rid={rid} ($rid optional)
 *   $iothub/methods/res/{status}/?$rid={rid}
 * Their `?` properties are taken as written (not unescaped); a repeated key is refused.
 *
 * Anything outside `devices/{d}/messages/events…`, `devices/{d}/modules/{m}/messages/events…` and
 * `$iothub/…` is `general`: the general broker handles it. Inside those namespaces a topic that
 * fits no template is refused rather than handed to the broker, so a mistyped telemetry topic is
 * reported instead of silently bypassing routing. (EdgeHub drops it with a warning.)
 *
 * The ids in a telemetry topic are compared with the authenticated identity (exactly, as written,
 * no unescaping) and the outcome reported in `matchesIdentity`; the caller decides authorization.
 * Deliberate differences from EdgeHub: templates are anchored at the start of the topic (EdgeHub's
 * regexes are not, so `x/devices/d/messages/events/` matched), and a `$rid` in a method response
 * may sit anywhere among the properties (EdgeHub's template takes everything after `?$rid=`).
 */
import { decodePropertyBag } from './decode-property-bag.js';
import type { ClientIdentity, PropertyMap, Refusal } from './iothub-types.js';

export interface TelemetryTopic {
  readonly kind: 'telemetry';
  /** Ids as the topic names them. */
  readonly deviceId: string;
  readonly moduleId?: string;
  /** True when the topic names exactly the authenticated device or module. */
  readonly matchesIdentity: boolean;
  /** The decoded property bag, wire keys (`$.ct`, `alert`, …) to values. */
  readonly properties: PropertyMap;
}

export type InboundTopic =
  | TelemetryTopic
  | { readonly kind: 'twin-get'; readonly requestId: string }
  /** `requestId` is '' when the client sent none; then it expects no response. */
  | { readonly kind: 'twin-reported-patch'; readonly requestId: string }
  | { readonly kind: 'method-response'; readonly status: number; readonly requestId: string }
  | { readonly kind: 'general' };

export type InboundTopicResult = { readonly ok: true; readonly topic: InboundTopic } | Refusal;

const DEVICES = 'devices/';
const MODULES = 'modules/';
const EVENTS = 'messages/events';
const IOTHUB = '$iothub/';
const TWIN_GET = '$iothub/twin/GET/';
const TWIN_PATCH_REPORTED = '$iothub/twin/PATCH/properties/reported/';
const METHOD_RESPONSE = '$iothub/methods/res/';
const REQUEST_ID = '$rid';
const STATUS = /^-?\d{1,10}$/;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

const GENERAL: InboundTopicResult = { ok: true, topic: { kind: 'general' } };

function badTopic(reason: string): Refusal {
  return { ok: false, code: 'OUTPOST_MQTT_BAD_TOPIC', reason };
}

/**
 * What follows `…/messages/events` in a telemetry topic: '' (template 5), '/' (2), '/{bag}' (5),
 * '/{bag}/' (1). Returns the bag text, or undefined when this is not one of those shapes.
 */
function bagText(rest: string): string | undefined {
  if (rest.length === 0) return '';
  const end = rest.length > 1 && rest.endsWith('/') ? rest.length - 1 : rest.length;
  const bag = rest.slice(1, end);
  return bag.includes('/') ? undefined : bag;
}

function classifyTelemetry(identity: ClientIdentity, topic: string): InboundTopicResult {
  const deviceEnd = topic.indexOf('/', DEVICES.length);
  if (deviceEnd === -1) return GENERAL;
  const deviceId = topic.slice(DEVICES.length, deviceEnd);
  let moduleId: string | undefined;
  let eventsAt = deviceEnd + 1;
  if (topic.startsWith(MODULES, eventsAt)) {
    const moduleEnd = topic.indexOf('/', eventsAt + MODULES.length);
    if (moduleEnd === -1) return GENERAL;
    moduleId = topic.slice(eventsAt + MODULES.length, moduleEnd);
    eventsAt = moduleEnd + 1;
  }
  if (!topic.startsWith(EVENTS, eventsAt)) return GENERAL;
  const afterEvents = eventsAt + EVENTS.length;
  if (afterEvents < topic.length && topic.charCodeAt(afterEvents) !== 0x2f /* / */) return GENERAL; // …/eventsX
  const bag = bagText(topic.slice(afterEvents));
  if (bag === undefined) return badTopic('telemetry topic does not match devices/{d}[/modules/{m}]/messages/events/{properties}');
  // EdgeHub skips a blank bag (string.IsNullOrWhiteSpace) instead of parsing it.
  const decoded = decodePropertyBag(bag.trim().length === 0 ? '' : bag);
  if (!decoded.ok) return decoded;
  const matchesIdentity = deviceId === identity.deviceId && moduleId === identity.moduleId;
  return {
    ok: true,
    topic: {
      kind: 'telemetry',
      deviceId,
      ...(moduleId === undefined ? {} : { moduleId }),
      matchesIdentity,
      properties: decoded.properties,
    },
  };
}

/** `k=v&k2&…` as written: a key without '=' has value '', a trailing '&' is ignored. */
function parseRequestProperties(text: string): Map<string, string> | string {
  const result = new Map<string, string>();
  if (text.length === 0) return result;
  const pairs = text.split('&');
  if (pairs[pairs.length - 1] === '') pairs.pop();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (result.has(key)) return `property "${key}" repeated`;
    result.set(key, eq === -1 ? '' : pair.slice(eq + 1));
  }
  return result;
}

/** The `?…` part right after a twin request prefix; anything else is a sub-resource, which is refused. */
function twinRequestId(topic: string, prefixLength: number): string | Refusal {
  if (topic.length === prefixLength) return '';
  if (topic.charCodeAt(prefixLength) !== 0x3f /* ? */) return badTopic('twin requests take no sub-resource');
  const properties = parseRequestProperties(topic.slice(prefixLength + 1));
  if (typeof properties === 'string') return badTopic(properties);
  return properties.get(REQUEST_ID) ?? '';
}

function classifyIotHub(topic: string): InboundTopicResult {
  if (topic.startsWith(TWIN_GET)) {
    const requestId = twinRequestId(topic, TWIN_GET.length);
    if (typeof requestId !== 'string') return requestId;
    if (requestId.length === 0) return badTopic('twin GET without $rid');
    return { ok: true, topic: { kind: 'twin-get', requestId } };
  }
  if (topic.startsWith(TWIN_PATCH_REPORTED)) {
    const requestId = twinRequestId(topic, TWIN_PATCH_REPORTED.length);
    if (typeof requestId !== 'string') return requestId;
    return { ok: true, topic: { kind: 'twin-reported-patch', requestId } };
  }
  if (topic.startsWith(METHOD_RESPONSE)) {
    const statusEnd = topic.indexOf('/', METHOD_RESPONSE.length);
    if (statusEnd === -1 || topic.charCodeAt(statusEnd + 1) !== 0x3f /* ? */) {
      return badTopic('method response does not match $iothub/methods/res/{status}/?$rid={rid}');
    }
    const statusText = topic.slice(METHOD_RESPONSE.length, statusEnd);
    const status = Number(statusText);
    if (!STATUS.test(statusText) || status < INT32_MIN || status > INT32_MAX) {
      return badTopic('method response status is not an integer');
    }
    const properties = parseRequestProperties(topic.slice(statusEnd + 2));
    if (typeof properties === 'string') return badTopic(properties);
    const requestId = properties.get(REQUEST_ID) ?? '';
    if (requestId.length === 0) return badTopic('method response without $rid');
    return { ok: true, topic: { kind: 'method-response', status, requestId } };
  }
  return badTopic('not an IoT Hub request topic a client may publish to');
}

export function classifyPublishTopic(identity: ClientIdentity, topic: string): InboundTopicResult {
  if (topic.startsWith(DEVICES)) return classifyTelemetry(identity, topic);
  if (topic.startsWith(IOTHUB)) return classifyIotHub(topic);
  return GENERAL;
}
