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

/** The routing source path of a message from a device or module (section 4.2 of the notes). */
export function messageSource(moduleId: string | undefined, outputName: string | undefined): string {
  if (moduleId === undefined) return '/messages/';
  if (outputName === undefined || outputName === '') return `/messages/modules/${moduleId}/`;
  return `/messages/modules/${moduleId}/outputs/${outputName}/`;
}

export const TWIN_CHANGE_SOURCE = '/twinChangeNotifications/';
