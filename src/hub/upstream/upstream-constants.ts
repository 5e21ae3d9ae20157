/**
 * Wire names of IoT Hub's AMQP device protocol as the upstream link speaks them to a parent (the
 * same names the parent's AMQP adapter reads: docs/amqp.md). Named once here: the upstream link
 * is a client of that protocol and imports nothing from the server adapter.
 */

export const CbsWire = {
  Address: '$cbs',
  ReplyTo: 'cbs',
  Operation: 'operation',
  PutToken: 'put-token',
  Type: 'type',
  /** What the Azure SDKs send for a SAS token. */
  SasTokenType: 'servicebus.windows.net:sastoken',
  Name: 'name',
  StatusCode: 'status-code',
  StatusDescription: 'status-description',
  StatusOk: 200,
} as const;

/** Link properties edge hub and the Azure SDKs put on every link (vendor prefix `com.microsoft:`). */
export const LinkProperty = {
  ClientVersion: 'com.microsoft:client-version',
  ChannelCorrelationId: 'com.microsoft:channel-correlation-id',
  ApiVersion: 'com.microsoft:api-version',
  /** Nested edge: `leaf;…;thisEdge`, the identity up to the edge device that signed its token. */
  AuthChain: 'com.microsoft:auth-chain',
} as const;

/** The api-version the Azure IoT device SDK for Node (1.18) puts on its method and twin links. */
export const API_VERSION = '2021-04-12';

/** AMQP 1.0 settle modes (section 2.8.2, 2.8.3): the SDK's twin sender settles before sending. */
export const SettleMode = {
  SenderSettled: 1,
  ReceiverFirst: 0,
} as const;

/** Direct methods: the request's name and the answer's status, as application properties. */
export const MethodWire = {
  MethodName: 'IoThub-methodname',
  Status: 'IoThub-status',
} as const;

/** Twin requests and answers (message annotations) on `/devices/{d}[/modules/{m}]/twin`. */
export const TwinWire = {
  Operation: 'operation',
  Resource: 'resource',
  Status: 'status',
  Version: 'version',
  Get: 'GET',
  Patch: 'PATCH',
  Put: 'PUT',
  Delete: 'DELETE',
  ReportedResource: '/properties/reported',
  DesiredResource: '/notifications/twin/properties/desired',
  /** The body the SDK sends with a GET, PUT or DELETE: one space. */
  EmptyBody: ' ',
} as const;

/** C2D annotations the parent sets. */
export const C2dWire = {
  EnqueuedTime: 'iothub-enqueuedtime',
} as const;

/**
 * Rejections that say "not now" rather than "never" (the parent's store is full, it is shutting
 * down, an internal error): the message is sent again later instead of being dropped.
 */
export const TRANSIENT_CONDITIONS: ReadonlySet<string> = new Set([
  'amqp:resource-limit-exceeded',
  'amqp:internal-error',
  'amqp:connection:forced',
  'amqp:link:detach-forced',
  'com.microsoft:server-busy',
  'com.microsoft:timeout',
]);

/** Telemetry from a device, output from a module. */
export function eventsAddress(deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? `/devices/${encodeURIComponent(deviceId)}/messages/events` : `/devices/${encodeURIComponent(deviceId)}/modules/${encodeURIComponent(moduleId)}/messages/events`;
}

function identityPath(deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? `/devices/${encodeURIComponent(deviceId)}` : `/devices/${encodeURIComponent(deviceId)}/modules/${encodeURIComponent(moduleId)}`;
}

/** Method requests (the parent sends) and responses (we send). */
export function methodsAddress(deviceId: string, moduleId: string | undefined): string {
  return `${identityPath(deviceId, moduleId)}/methods/devicebound`;
}

/** Twin requests (we send) and answers and desired patches (the parent sends). */
export function twinAddress(deviceId: string, moduleId: string | undefined): string {
  return `${identityPath(deviceId, moduleId)}/twin`;
}

/** C2D messages for a device (the parent sends). */
export function deviceboundAddress(deviceId: string): string {
  return `${identityPath(deviceId, undefined)}/messages/devicebound`;
}

/** The SAS audience (and CBS `name`) of an identity: `{hub}/devices/{d}[/modules/{m}]`. */
export function tokenAudience(iotHubHostname: string, deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? `${iotHubHostname}/devices/${deviceId}` : `${iotHubHostname}/devices/${deviceId}/modules/${moduleId}`;
}
