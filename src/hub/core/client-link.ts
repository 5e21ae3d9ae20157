// The leaf file rather than endpoints/index.ts: the module-input target there uses ConnectedClients,
// and the two folders must not import each other in a circle.
import type { DeliveryOutcome } from '../endpoints/message-sink.js';
import type { HubMessage } from '../message/index.js';

/**
 * What the hub core can ask of one live connection of a client, whatever protocol carries it.
 * A transport implements it per connection and registers it in ConnectedClients once the client
 * is authenticated (MQTT: at CONNACK), removing it when the connection closes. The core decides
 * what an operation means (which link, which status, which timeout); the link only translates it
 * to its wire (MQTT: a PUBLISH on `$iothub/methods/POST/{name}/?$rid={rid}`).
 *
 * Module inputs are delivered through the link too (the store's module-input endpoint target,
 * src/hub/endpoints), never through a transport's own session state.
 *
 * Other operations (cloud-to-device messages, desired-property patches) are added here as
 * members of their own when the core delivers them.
 */

/** IoT Hub subscription kinds a client can hold, named as classifySubscription names them. */
export type ClientSubscriptionKind = 'methods' | 'desired-properties' | 'c2d' | 'twin-responses' | 'module-inputs';

/** A direct-method call the core sends to a client, which answers through MethodService.respond. */
export interface MethodRequest {
  readonly requestId: string;
  readonly methodName: string;
  /** The call's JSON payload as UTF-8 bytes (`null` when the caller gave none). */
  readonly payload: Buffer;
}

export interface ClientLink {
  /** `deviceId` or `deviceId/moduleId`: the authenticated identity of the connection. */
  readonly identity: string;
  /** The transport, for logs and `outpost` diagnostics: `mqtt`, `amqp`, … */
  readonly protocol: string;
  /** Whether the client subscribed to `kind` on this link (IoT Hub delivers nothing unasked). */
  subscribed(kind: ClientSubscriptionKind): boolean;
  /** Sends a direct-method request; false when the link cannot (closed, or the topic is invalid). */
  sendMethodRequest(request: MethodRequest): boolean;
  /**
   * Sends a routed message to module input `inputName` of this link's module. False when the link
   * cannot take it now (closed, or its window to the client is full): nothing was sent, the caller
   * keeps the message and tries again later. Otherwise `onSettled` is called exactly once.
   */
  sendModuleInput(inputName: string, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean;
}
