import type { C2dMessage } from './c2d-message.js';

/**
 * Where queued C2D messages are kept. Two backends: RocksDB (<dataDir>/c2d) and memory
 * (store.persistent false). `put` and `remove` resolve once the change is durable (in RocksDB's
 * write-ahead log); `open` returns every queued message, each device's in `seq` order.
 */
export interface C2dStore {
  readonly durable: boolean;
  open(): Promise<C2dMessage[]>;
  put(message: C2dMessage): Promise<void>;
  remove(deviceId: string, seq: number): Promise<void>;
  close(): Promise<void>;
}
