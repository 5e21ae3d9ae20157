/**
 * Classifies a SUBSCRIBE topic filter the way EdgeHub does (`SessionStateParser`, notes section
 * 5.3), in this order:
 *
 *   starts with `$iothub/methods/POST/`                     methods
 *   starts with `$iothub/twin/PATCH/properties/desired/`    desired-properties
 *   ends with `messages/devicebound/#`                      c2d
 *   equals `$iothub/twin/res/#`                             twin-responses
 *   matches `^devices/.+/modules/.+/#$`                     module-inputs
 *   anything else                                           general (the general broker's filter)
 *
 * EdgeHub then applies every recognized subscription to the connected identity, whatever ids the
 * filter names. We extract the ids (`devices/{d}/messages/devicebound/#`,
 * `devices/{d}/modules/{m}/#` or `devices/{d}/modules/{m}/inputs/#`) so mayUseIotHubSubscription can
 * refuse a filter naming someone else; a filter of another shape leaves them undefined.
 */

export type IotHubSubscription =
  | { readonly kind: 'methods' }
  | { readonly kind: 'desired-properties' }
  | { readonly kind: 'c2d'; readonly deviceId: string | undefined }
  | { readonly kind: 'twin-responses' }
  | { readonly kind: 'module-inputs'; readonly deviceId: string | undefined; readonly moduleId: string | undefined }
  /**
   * Not an IoT Hub subscription. `overlapsIotHub` is true when the filter could match topics of the
   * IoT Hub namespaces (`devices/…`, `$iothub/…`, or a leading wildcard, which `$iothub/` escapes
   * by MQTT-4.7.2-1 but `devices/` does not), so the caller can keep those out of the general broker.
   */
  | { readonly kind: 'general'; readonly overlapsIotHub: boolean };

const METHODS_PREFIX = '$iothub/methods/POST/';
const DESIRED_PREFIX = '$iothub/twin/PATCH/properties/desired/';
const C2D_SUFFIX = 'messages/devicebound/#';
const TWIN_RESPONSES = '$iothub/twin/res/#';
const MODULE_MESSAGES = /^devices\/.+\/modules\/.+\/#$/;

const METHODS: IotHubSubscription = { kind: 'methods' };
const DESIRED: IotHubSubscription = { kind: 'desired-properties' };
const TWIN: IotHubSubscription = { kind: 'twin-responses' };

function c2d(filter: string): IotHubSubscription {
  const levels = filter.split('/');
  const named = levels.length === 5 && levels[0] === 'devices';
  return { kind: 'c2d', deviceId: named ? levels[1] : undefined };
}

function moduleInputs(filter: string): IotHubSubscription {
  const levels = filter.split('/');
  const named =
    levels[0] === 'devices' &&
    levels[2] === 'modules' &&
    (levels.length === 5 || (levels.length === 6 && levels[4] === 'inputs'));
  return named
    ? { kind: 'module-inputs', deviceId: levels[1], moduleId: levels[3] }
    : { kind: 'module-inputs', deviceId: undefined, moduleId: undefined };
}

function overlapsIotHub(filter: string): boolean {
  const slash = filter.indexOf('/');
  const first = slash === -1 ? filter : filter.slice(0, slash);
  return first === 'devices' || first === '$iothub' || first === '+' || first === '#';
}

export function classifySubscription(filter: string): IotHubSubscription {
  if (filter.startsWith(METHODS_PREFIX)) return METHODS;
  if (filter.startsWith(DESIRED_PREFIX)) return DESIRED;
  if (filter.endsWith(C2D_SUFFIX)) return c2d(filter);
  if (filter === TWIN_RESPONSES) return TWIN;
  if (MODULE_MESSAGES.test(filter)) return moduleInputs(filter);
  return { kind: 'general', overlapsIotHub: overlapsIotHub(filter) };
}
