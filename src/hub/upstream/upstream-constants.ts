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

/** The SAS audience (and CBS `name`) of an identity: `{hub}/devices/{d}[/modules/{m}]`. */
export function tokenAudience(iotHubHostname: string, deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? `${iotHubHostname}/devices/${deviceId}` : `${iotHubHostname}/devices/${deviceId}/modules/${moduleId}`;
}
