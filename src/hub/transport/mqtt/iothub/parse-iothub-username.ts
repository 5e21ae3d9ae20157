/**
 * The IoT Hub CONNECT username (notes section 5.1, EdgeHub `MqttUsernameParser`):
 *
 *   {hostname}/{deviceId}[/{moduleId}]/?{properties}      the SDK form
 *   {hostname}/{deviceId}[/{moduleId}]/{properties}       legacy, last level contains "api-version="
 *
 * The username is split on every `/`. It is the SDK form only when the last level starts with
 * `?`, because `?` is legal inside ids (`hub/dev?1/?api-version=…` is device `dev?1`). Properties
 * are `&`-separated `k=v`; a key is compared as written, the value is url-unescaped, the first of
 * duplicate keys wins, unknown keys are ignored. `api-version` must be present and not blank; its
 * value is not checked. The hostname is not validated against anything.
 *
 * Deliberate difference: a blank module level (`hub/dev//?…`) is refused; EdgeHub would quietly
 * take the connection for the device.
 */
import type { ClientIdentity, Refusal } from './iothub-types.js';
import { unescapeDataString } from './unescape-data-string.js';

export interface IotHubConnectInfo extends ClientIdentity {
  /** First level of the username; the IoT Hub host name the client believes it talks to. */
  readonly hostname: string;
  readonly apiVersion: string;
  /** `DeviceClientType`, unescaped (the SDK's user agent). */
  readonly clientType?: string;
  /** `model-id` (IoT Plug and Play), when not blank; becomes `$modelId` on messages. */
  readonly modelId?: string;
  /** `auth-chain` (nested edge: `leaf;edge;parent…`), when not blank. */
  readonly authChain?: string;
}

export type UsernameResult = { readonly ok: true; readonly connect: IotHubConnectInfo } | Refusal;

const API_VERSION = 'api-version';
const DEVICE_CLIENT_TYPE = 'DeviceClientType';
const MODEL_ID = 'model-id';
const AUTH_CHAIN = 'auth-chain';

// An old Azure ML module client separated DeviceClientType with '/', giving six levels; EdgeHub
// accepts exactly this username suffix and so do we.
const AZURE_ML_SUFFIX = '/api-version=2017-06-30/DeviceClientType=Microsoft.Azure.Devices.Client/1.5.1-preview-003';
const AZURE_ML_API_VERSION = '2017-06-30';
const AZURE_ML_CLIENT_TYPE = 'Microsoft.Azure.Devices.Client/1.5.1-preview-003';

function badUsername(reason: string): Refusal {
  return { ok: false, code: 'OUTPOST_MQTT_BAD_USERNAME', reason };
}

/** `a=1&b&c=x%20y` → Map(a→'1', b→'', c→'x y'); first duplicate wins; keys as written. */
function parseQuery(query: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (result.has(key)) continue;
    result.set(key, eq === -1 ? '' : unescapeDataString(pair.slice(eq + 1)));
  }
  return result;
}

const isBlank = (text: string | undefined): boolean => text === undefined || text.trim().length === 0;

/**
 * Parses `username` and checks it names the same identity as `clientId` (`device` or
 * `device/module`, compared exactly).
 */
export function parseIotHubUsername(username: string, clientId: string): UsernameResult {
  if (isBlank(username)) return badUsername('empty username');
  const levels = username.split('/');
  const last = levels[levels.length - 1]!;
  let query: Map<string, string>;
  let moduleLevel: string | undefined;

  if (last.startsWith('?')) {
    if (levels.length !== 3 && levels.length !== 4) {
      return badUsername('expected {hub}/{device}/?… or {hub}/{device}/{module}/?…');
    }
    query = parseQuery(last.slice(1).trim());
    moduleLevel = levels.length === 4 ? levels[2] : undefined;
  } else if ((levels.length === 3 || levels.length === 4) && last.includes(`${API_VERSION}=`)) {
    query = parseQuery(last.trim());
    moduleLevel = levels.length === 4 ? levels[2] : undefined;
  } else if (levels.length === 6 && username.toLowerCase().endsWith(AZURE_ML_SUFFIX.toLowerCase())) {
    query = new Map([
      [API_VERSION, AZURE_ML_API_VERSION],
      [DEVICE_CLIENT_TYPE, AZURE_ML_CLIENT_TYPE],
    ]);
    moduleLevel = levels[2];
  } else {
    return badUsername('expected {hub}/{device}[/{module}]/?api-version=…');
  }

  const apiVersion = query.get(API_VERSION);
  if (apiVersion === undefined || isBlank(apiVersion)) return badUsername('api-version is missing or empty');
  const deviceId = levels[1]!.trim();
  if (deviceId.length === 0) return badUsername('device id is empty');
  const moduleId = moduleLevel?.trim();
  if (moduleId !== undefined && moduleId.length === 0) return badUsername('module id is empty');

  const expectedClientId = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
  if (clientId !== expectedClientId) {
    return { ok: false, code: 'OUTPOST_MQTT_CLIENT_ID_MISMATCH', reason: 'client id does not name the identity in the username' };
  }

  const clientType = query.get(DEVICE_CLIENT_TYPE);
  const modelId = query.get(MODEL_ID);
  const authChain = query.get(AUTH_CHAIN);
  return {
    ok: true,
    connect: {
      hostname: levels[0]!,
      deviceId,
      ...(moduleId === undefined ? {} : { moduleId }),
      apiVersion,
      ...(clientType === undefined ? {} : { clientType }),
      ...(modelId === undefined || isBlank(modelId) ? {} : { modelId }),
      ...(authChain === undefined || isBlank(authChain) ? {} : { authChain }),
    },
  };
}
