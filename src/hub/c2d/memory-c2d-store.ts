import type { C2dMessage } from './c2d-message.js';
import type { C2dStore } from './c2d-store.js';

/** C2D queues in memory only (store.persistent false): they do not survive a restart. */
export class MemoryC2dStore implements C2dStore {
  readonly durable = false;

  async open(): Promise<C2dMessage[]> {
    return [];
  }

  async put(): Promise<void> {}

  async remove(): Promise<void> {}

  async close(): Promise<void> {}
}
