import type { HubMessage } from '../message/index.js';
import type { RouteEndpoint } from '../routing/index.js';

/**
 * What the store tells an observer (the metrics) as it happens, for figures that need the message
 * (its sender, its size, its age). Calls are synchronous on the store's path: an observer must
 * only update preallocated counters (src/metrics), never allocate or block. Counts without a
 * message (expired, dropped, refused) stay in StoreMetrics and are read when needed.
 */
export interface StoreObserver {
  /** One message written; `copies`: how many endpoint queues took it (0: no route chose it). */
  accepted(message: HubMessage, copies: number): void;
  /** One copy acknowledged by its endpoint; `sentAtMs`: when its (last) delivery attempt began. */
  delivered(endpoint: RouteEndpoint, priority: number, message: HubMessage, sentAtMs: number, ackedAtMs: number): void;
  /** One append batch answered by shard `shard`'s worker: its messages, routed copies and round trip. */
  batchWritten(shard: number, messages: number, copies: number, roundTripMs: number): void;
}
