/**
 * The store's counters, named after the Prometheus series they become
 * (outpost_store_<name>_total); `outpost store stats` and the log read them as they are.
 */
export interface StoreMetrics {
  /** Messages written (acknowledged to their senders). */
  accepted: number;
  /** Accepted messages no route chose (Azure counts them as dropped, reason no_route). */
  noRoute: number;
  /** Copies acknowledged by their endpoint. */
  delivered: number;
  /** Copies that expired before delivery (never delivered). */
  expired: number;
  /** Copies deleted by store.fullPolicy dropOldest. */
  dropped: number;
  /** Messages refused (not acknowledged) by reason. */
  refusedStoreFull: number;
  refusedDiskFull: number;
  refusedWriteFailed: number;
  /** Copies removed because they can never be delivered to their endpoint. */
  undeliverable: number;
  /** Copies sent again after a loss or an acknowledgement timeout. */
  redelivered: number;
  /** Copies given up on after store.ackTimeout (then sent again). */
  ackTimeouts: number;
}

export function newStoreMetrics(): StoreMetrics {
  return {
    accepted: 0,
    noRoute: 0,
    delivered: 0,
    expired: 0,
    dropped: 0,
    refusedStoreFull: 0,
    refusedDiskFull: 0,
    refusedWriteFailed: 0,
    undeliverable: 0,
    redelivered: 0,
    ackTimeouts: 0,
  };
}
