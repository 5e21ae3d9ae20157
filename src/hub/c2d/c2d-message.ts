/**
 * A cloud-to-device message as IoT Hub shapes it: body, application properties and the system
 * properties a sender may set (message id, correlation id, user id, content type and encoding) plus
 * the ones the hub sets (`to`, enqueue time, absolute expiry). `seq` orders a device's queue; it
 * grows across every device and restart, so it is also the message's key in the store.
 */
export interface C2dMessage {
  readonly seq: number;
  readonly deviceId: string;
  readonly messageId: string;
  readonly correlationId?: string;
  readonly userId?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly enqueuedAtMs: number;
  readonly expiresAtMs: number;
  readonly properties: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** `to` of every C2D message, as IoT Hub sets it. */
export function c2dAddress(deviceId: string): string {
  return `/devices/${deviceId}/messages/devicebound`;
}

/**
 * What a transport reports for one delivery: `completed` (the device acknowledged it: MQTT PUBACK),
 * `lost` (the connection went before the acknowledgement: it is sent again later) or `rejected`
 * (this transport can never deliver it, for example its properties cannot form a topic: it is
 * removed so the queue behind it keeps moving). MQTT cannot express a device's reject or abandon.
 */
export type C2dFeedback = 'completed' | 'lost' | 'rejected';

/**
 * One connected device's way to receive C2D: a transport registers it when the device subscribes
 * (MQTT `devices/{d}/messages/devicebound/#`) and removes it when the connection closes. `deliver`
 * is called with one message at a time and resolves with its feedback.
 */
export interface C2dDeliveryTarget {
  deliver(message: C2dMessage): Promise<C2dFeedback>;
}

/** Where transports register their delivery targets (the C2D service). */
export interface C2dDeliveries {
  /** Returns the function that unregisters this target. */
  attach(deviceId: string, target: C2dDeliveryTarget): () => void;
}
