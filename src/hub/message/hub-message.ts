/**
 * The one normalized message every protocol adapter produces and routing, the store and every
 * endpoint consume. MQTT topics and property bags, AMQP properties and annotations, and HTTPS
 * requests are all converted to and from this shape at the edge of the hub.
 *
 * Invariants:
 * - `systemProperties.connectionDeviceId` / `connectionModuleId` come from the authenticated
 *   identity, never from what the client wrote.
 * - Property maps are plain data (serializable with msgpackr across worker threads). Readers must
 *   look keys up with Object.hasOwn, never `in` or bare indexing, so a property named
 *   "__proto__" or "constructor" is only ever data.
 */

/** System property names, as the route language spells them after `$` (section 4.8 of the notes). */
export const SystemProperty = {
  MessageId: 'messageId',
  // EdgeHub stores the correlation id under `cid` (MQTT `$.cid`, AMQP correlation-id), so routes
  // query it as `$cid`; `$correlationId` is undefined on the edge (section 4.8 of the notes).
  CorrelationId: 'cid',
  To: 'to',
  UserId: 'userId',
  ContentType: 'contentType',
  ContentEncoding: 'contentEncoding',
  AbsoluteExpiryTime: 'absolute-expiry-time',
  OutputName: 'outputName',
  InputName: 'inputName',
  MessageSchema: 'messageSchema',
  CreationTime: 'creationTime',
  Operation: 'operation',
  InterfaceId: 'iothub-interface-id',
  ComponentName: 'dt-subject',
  ModelId: 'modelId',
  ConnectionDeviceId: 'connectionDeviceId',
  ConnectionModuleId: 'connectionModuleId',
  EdgeMessageId: 'edgeMessageId',
  EdgeHubOriginInterface: 'edgeHubOriginInterface',
  EnqueuedTime: 'enqueuedTime',
  MessageType: 'messageType',
} as const;

export type SystemPropertyName = (typeof SystemProperty)[keyof typeof SystemProperty];

export interface HubMessage {
  /**
   * Routing source path with one trailing slash: `/messages/` (device telemetry),
   * `/messages/modules/{m}/` (module, no output), `/messages/modules/{m}/outputs/{o}/`,
   * `/twinChangeNotifications/`.
   */
  readonly source: string;
  readonly body: Uint8Array;
  /** Application properties. A null value is a key sent without a value (`k` in a property bag). */
  readonly properties: Readonly<Record<string, string | null>>;
  readonly systemProperties: Readonly<Partial<Record<SystemPropertyName, string>> & Record<string, string>>;
  /** Milliseconds since the epoch at which the hub accepted the message. */
  readonly enqueuedAtMs: number;
}

/**
 * Source paths made so far, by module id and then output name ('' for none): a module sends on a
 * few outputs, and every message of each would otherwise build (and routing flatten) the same
 * string. Bounded: past SOURCE_CACHE_LIMIT paths (a client inventing output names), they are built
 * each time and not kept.
 */
const sourceCache = new Map<string, Map<string, string>>();
export const SOURCE_CACHE_LIMIT = 4_096;
let sourcesCached = 0;

/** The routing source path of a message from a device or module (section 4.2 of the notes). */
export function messageSource(moduleId: string | undefined, outputName: string | undefined): string {
  if (moduleId === undefined) return '/messages/';
  const output = outputName ?? '';
  let outputs = sourceCache.get(moduleId);
  const cached = outputs?.get(output);
  if (cached !== undefined) return cached;
  const source = output === '' ? `/messages/modules/${moduleId}/` : `/messages/modules/${moduleId}/outputs/${output}/`;
  if (sourcesCached < SOURCE_CACHE_LIMIT) {
    if (outputs === undefined) sourceCache.set(moduleId, (outputs = new Map()));
    outputs.set(output, source);
    sourcesCached++;
  }
  return source;
}

export const TWIN_CHANGE_SOURCE = '/twinChangeNotifications/';
