/**
 * C2D limits, IoT Hub's documented defaults (iot-hub-devguide-messaging, "Cloud-to-device
 * messages"; IoT Hub quotas): at most 50 messages queued per device, 64 KB per message, a time to
 * live of 1 hour unless the sender sets one, and at most 2 days. Unlike IoT Hub the queue is the
 * edge's own, so it is kept across hub restarts while the device is offline, until TTL.
 */
export interface C2dLimits {
  readonly maxQueueDepth: number;
  /** Body plus the names and values of every property, UTF-8. */
  readonly maxMessageBytes: number;
  readonly defaultTtlSec: number;
  readonly maxTtlSec: number;
  /** How often expired messages of devices that do not connect are removed. */
  readonly sweepIntervalMs: number;
}

export const C2D_LIMITS: C2dLimits = {
  maxQueueDepth: 50,
  maxMessageBytes: 64 * 1024,
  defaultTtlSec: 60 * 60,
  maxTtlSec: 2 * 24 * 60 * 60,
  sweepIntervalMs: 60_000,
};

/** Status codes of C2D answers (IoT Hub's, for the same conditions). */
export const C2dStatus = {
  Accepted: 202,
  Ok: 200,
  BadRequest: 400,
  /** IoT Hub: 403 DeviceMaximumQueueDepthExceeded. */
  QueueFull: 403,
  NotFound: 404,
  TooLarge: 413,
  Internal: 500,
} as const;
