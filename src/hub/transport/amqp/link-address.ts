/**
 * The link addresses of IoT Hub's AMQP device protocol (notes 6.1, `Templates.cs`):
 *
 *   $cbs
 *   /devices/{d}/messages/events                  telemetry (client sends)
 *   /devices/{d}/modules/{m}/messages/events      module output (client sends), module input (client receives)
 *   /devices/{d}[/modules/{m}]/messages/devicebound   C2D (client receives)
 *   /devices/{d}[/modules/{m}]/methods/devicebound    method requests and responses
 *   /devices/{d}[/modules/{m}]/twin                   twin requests, responses, desired patches
 *
 * Fixed segments compare case-insensitively (the SDKs write `devicebound`, Azure's templates
 * `deviceBound`); ids are percent-decoded once, as a URI template match does. An `amqps://host`
 * prefix is accepted, as edge hub prefixes addresses with it before matching. Pure; returns
 * undefined for anything else.
 */

export type LinkEndpoint = 'events' | 'c2d' | 'methods' | 'twin';

export type LinkAddress =
  | { readonly kind: 'cbs' }
  | { readonly kind: LinkEndpoint; readonly deviceId: string; readonly moduleId: string | undefined };

/** Longest address considered: far above any real one, it bounds the work a client can ask for. */
const MAX_ADDRESS_CHARS = 1024;

export function parseLinkAddress(address: unknown): LinkAddress | undefined {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_CHARS) return undefined;
  if (address === '$cbs') return { kind: 'cbs' };
  let path = address;
  if (/^amqps?:\/\//i.test(path)) {
    const slash = path.indexOf('/', path.indexOf('//') + 2);
    if (slash === -1) return undefined;
    path = path.slice(slash);
  }
  const segments = path.split('/');
  // A leading '/' gives an empty first segment.
  if (segments[0] !== '' || segments[1]?.toLowerCase() !== 'devices') return undefined;
  const deviceId = decodeId(segments[2]);
  if (deviceId === undefined) return undefined;
  let rest = segments.slice(3);
  let moduleId: string | undefined;
  if (rest[0]?.toLowerCase() === 'modules') {
    moduleId = decodeId(rest[1]);
    if (moduleId === undefined) return undefined;
    rest = rest.slice(2);
  }
  const tail = rest.map((s) => s.toLowerCase()).join('/');
  switch (tail) {
    case 'messages/events':
      return { kind: 'events', deviceId, moduleId };
    case 'messages/devicebound':
      return { kind: 'c2d', deviceId, moduleId };
    case 'methods/devicebound':
      return { kind: 'methods', deviceId, moduleId };
    case 'twin':
      return { kind: 'twin', deviceId, moduleId };
    default:
      return undefined;
  }
}

function decodeId(segment: string | undefined): string | undefined {
  if (segment === undefined || segment.length === 0) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  // An id never holds a '/', so a decoded one cannot make a module look like a device.
  return id.length === 0 || id.includes('/') ? undefined : id;
}

/** `deviceId` or `deviceId/moduleId`: how the hub core names an identity. */
export function identityName(deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

/**
 * The identity a CBS audience names: `[amqps://]{host}/devices/{d}[/modules/{m}]`, percent-encoded
 * as a whole (the SDK sends `myhub.azure-devices.net%2Fdevices%2Fdev1`) or not. The host is not
 * checked here: the SAS token's own audience is, by the authenticator.
 */
export function parseCbsAudience(name: unknown): { deviceId: string; moduleId: string | undefined } | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_ADDRESS_CHARS) return undefined;
  let text = name;
  if (!text.includes('/')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  text = text.replace(/^amqps?:\/\//i, '');
  const slash = text.indexOf('/');
  if (slash <= 0) return undefined;
  const parsed = parseLinkAddress(`${text.slice(slash)}/twin`);
  return parsed === undefined || parsed.kind === 'cbs' ? undefined : { deviceId: parsed.deviceId, moduleId: parsed.moduleId };
}
