import type { ErrorCode } from '../../errors/index.js';

/**
 * Direct-method numbers as IoT Hub uses them (docs/methods.md): the timeout range of
 * `responseTimeoutInSeconds` and `connectTimeoutInSeconds`, the 128 KB payload limit, HTTP
 * statuses and IoT Hub's numeric `errorCode`s.
 */
export const MethodLimits = {
  minResponseTimeoutSec: 5,
  maxResponseTimeoutSec: 300,
  defaultResponseTimeoutSec: 30,
  maxConnectTimeoutSec: 300,
  maxPayloadBytes: 128 * 1024,
} as const;

export const MethodHttpStatus = {
  Ok: 200,
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  PayloadTooLarge: 413,
  GatewayTimeout: 504,
} as const;

/**
 * IoT Hub's `errorCode` values, with the name IoT Hub writes in `Message` ("ErrorCode:{name};…")
 * and Outpost's own code (src/errors/registry.ts) for the same refusal.
 */
export const MethodErrorCode = {
  ArgumentInvalid: { code: 400004, name: 'ArgumentInvalid', outpost: 'OUTPOST_METHOD_REQUEST_INVALID' },
  IotHubUnauthorizedAccess: { code: 401002, name: 'IotHubUnauthorizedAccess', outpost: 'OUTPOST_METHOD_UNAUTHORIZED' },
  DeviceNotFound: { code: 404001, name: 'DeviceNotFound', outpost: 'OUTPOST_METHOD_TARGET_NOT_FOUND' },
  DeviceNotOnline: { code: 404103, name: 'DeviceNotOnline', outpost: 'OUTPOST_METHOD_TARGET_OFFLINE' },
  RequestEntityTooLarge: { code: 413002, name: 'RequestEntityTooLarge', outpost: 'OUTPOST_METHOD_PAYLOAD_TOO_LARGE' },
  GatewayTimeout: { code: 504101, name: 'GatewayTimeout', outpost: 'OUTPOST_METHOD_TIMEOUT' },
} as const satisfies Record<string, { code: number; name: string; outpost: ErrorCode }>;

export type MethodErrorKind = keyof typeof MethodErrorCode;

/** A direct-method call as the HTTPS API and the control socket receive it (IoT Hub's body). */
export interface MethodCall {
  readonly methodName: string;
  /** Any JSON value; `null` when the caller sent none. */
  readonly payload: unknown;
  readonly responseTimeoutInSeconds: number;
  readonly connectTimeoutInSeconds: number;
}

/**
 * What the caller gets: HTTP `httpStatus` and its JSON `body` — `{status, payload}` from the
 * target on success (HTTP 200 whatever the method's own status), IoT Hub's error body otherwise.
 */
export interface MethodAnswer {
  readonly httpStatus: number;
  readonly body: unknown;
}

/**
 * IoT Hub's error body (`errorCode`, `message`, `timestampUtc`), `Message` in the
 * "ErrorCode:{name};{text}" form the Azure SDKs parse, and Outpost's `code`.
 */
export function methodError(httpStatus: number, kind: MethodErrorKind, message: string): MethodAnswer {
  const { code, name, outpost } = MethodErrorCode[kind];
  return { httpStatus, body: { errorCode: code, message, Message: `ErrorCode:${name};${message}`, code: outpost, timestampUtc: new Date().toISOString() } };
}
