import type { HubMessage } from '../message/index.js';

/**
 * Where protocol adapters hand telemetry and module output. The promise resolves when the hub
 * has taken responsibility for the message (with the store: when it is in the write-ahead log),
 * and only then does the adapter acknowledge the sender (MQTT PUBACK, AMQP settlement). It
 * rejects with an OutpostError when the message was not taken (OUTPOST_STORE_FULL,
 * OUTPOST_STORE_DISK_FULL, …): the sender must not be acknowledged as if it had been.
 */
export interface MessageSink {
  submit(message: HubMessage): Promise<void>;
}

/**
 * What became of one message handed to a module input: `acked` by the module (PUBACK); `lost`
 * without an acknowledgement (connection gone, session queue overflow) and to be sent again;
 * `rejected` because it can never be delivered there (e.g. no valid topic can carry it).
 */
export type DeliveryOutcome = 'acked' | 'lost' | 'rejected';

/** Delivers a routed message to a module input over whatever protocol the module is connected with. */
export interface ModuleInputSink {
  /**
   * Returns false when the module has no connected session subscribed to its inputs (nothing was
   * sent; try again later). Otherwise, when `onSettled` is given, it is called exactly once with
   * the outcome, and the caller (the store) owns the message's durability: the session neither
   * persists it nor resends it after a reconnect.
   */
  deliverToModuleInput(moduleId: string, inputName: string, message: HubMessage, onSettled?: (outcome: DeliveryOutcome) => void): boolean;
}
