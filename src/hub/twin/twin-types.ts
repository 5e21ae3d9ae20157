/**
 * The shapes of a twin as IoT Hub defines them ("Understand and use device twins in IoT Hub"):
 * `desired` and `reported` sections of JSON properties, each with its `$version`, which only
 * increments. A twin belongs to a device (`dev1`) or a module (`dev1/mod`); its id is that path.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type TwinProperties = { [key: string]: Json };

/** One section with its version: `{..., "$version": n}` as clients receive it. */
export type TwinSection = TwinProperties & { $version: number };

/** What the store keeps for one twin. `version` counts every change of either section (IoT Hub's twin `version`). */
export interface StoredTwin {
  readonly version: number;
  readonly desired: TwinSection;
  readonly reported: TwinSection;
}

/** `{"desired":{…,"$version":n},"reported":{…,"$version":m}}`, what a twin GET returns to a device or module. */
export interface TwinDocument {
  readonly desired: TwinSection;
  readonly reported: TwinSection;
}

/**
 * Status of a twin operation. IoT Hub answers twin operations with HTTP statuses on every protocol
 * (MQTT `$iothub/twin/res/{status}`, AMQP `status` annotation), so the service speaks them too.
 */
export const TwinStatus = {
  Ok: 200,
  NoContent: 204,
  BadRequest: 400,
  NotFound: 404,
  /** A desired patch from the upstream that does not follow the version here (TwinService.mirrorDesired). */
  PreconditionFailed: 412,
  InternalError: 500,
} as const;

/** IoT Hub's error codes in a twin error body (`{"errorCode":…,"message":…}`). */
export const IotHubErrorCode = {
  ArgumentInvalid: 400004,
  DeviceNotFound: 404001,
  PreconditionFailed: 412001,
  ServerError: 500001,
} as const;

export type TwinFailure = { readonly ok: false; readonly status: number; readonly errorCode: number; readonly reason: string };
export type TwinPatchResult = { readonly ok: true; readonly version: number } | TwinFailure;
export type TwinGetResult = { readonly ok: true; readonly twin: StoredTwin } | TwinFailure;

/** A desired-properties notification: the patch (with its `$version`) as the client receives it. */
export interface DesiredNotification {
  readonly version: number;
  readonly patch: TwinSection;
}

/** Which twin: a device or one of its modules. */
export function twinIdOf(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

/** The device and module of a twin id (`dev1` or `dev1/mod`; module ids hold no '/'). */
export function splitTwinId(twinId: string): { deviceId: string; moduleId: string | undefined } {
  const slash = twinId.indexOf('/');
  return slash === -1 ? { deviceId: twinId, moduleId: undefined } : { deviceId: twinId.slice(0, slash), moduleId: twinId.slice(slash + 1) };
}

export function emptyTwin(): StoredTwin {
  return { version: 1, desired: { $version: 1 }, reported: { $version: 1 } };
}
