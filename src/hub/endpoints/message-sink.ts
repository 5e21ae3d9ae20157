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
 * What became of one message handed to an endpoint: `acked` by the receiver (MQTT PUBACK, AMQP
 * accepted); `lost` without an acknowledgement (the connection went) and to be sent again;
 * `rejected` because it can never be delivered there (e.g. no valid topic can carry it).
 */
export type DeliveryOutcome = 'acked' | 'lost' | 'rejected';
