import type { BrokerMessage, Subscription } from './broker-message.js';
import type { Outgoing } from './session.js';

/** What survives a restart for a persistent session. */
export interface StoredSession {
  readonly clientId: string;
  readonly expiryIntervalSec: number;
  /** Epoch ms of the last disconnect; the session expires expiryIntervalSec after it. */
  readonly disconnectedAtMs: number | undefined;
  readonly subscriptions: readonly Subscription[];
  readonly iotHub?: readonly string[];
  /** Session.owner: the authenticated identity, for the authorization policy. */
  readonly owner?: unknown;
}

export interface StoredQueue {
  readonly clientId: string;
  readonly items: readonly Outgoing[];
}

export interface LoadedBrokerState {
  readonly sessions: readonly StoredSession[];
  readonly queues: readonly StoredQueue[];
  readonly retained: readonly BrokerMessage[];
  /** Highest sequence number in use, so new ones never collide. */
  readonly lastSeq: number;
}

/**
 * Durable broker state: persistent sessions (subscriptions), the QoS 1/2 messages owed to them,
 * and retained messages. Writes are fire-and-forget from the caller's view and grouped per event
 * loop turn into one batch; `flush()` resolves when everything written so far is durable, and
 * rejects when the batch holding it was not written.
 */
export interface BrokerStore {
  readonly durable: boolean;
  /**
   * Set while the store cannot take new durable state (free space under store.minFreeDisk, or the
   * last write found no space): a publish that would write is refused with it, not acknowledged.
   * A plain field, read once per publish.
   */
  readonly refusal: Error | undefined;
  /** Write operations taken so far: a publish that changed it must wait for flush() before it is acknowledged. */
  readonly writes: number;
  load(): Promise<LoadedBrokerState>;
  saveSession(session: StoredSession): void;
  deleteSession(clientId: string): void;
  putQueued(clientId: string, outgoing: Outgoing): void;
  deleteQueued(clientId: string, seq: number): void;
  putRetained(message: BrokerMessage): void;
  deleteRetained(topic: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Without persistence (`store.persistent=false`): state lives only as long as the process. */
export class MemoryBrokerStore implements BrokerStore {
  readonly durable = false;
  readonly refusal = undefined;
  readonly writes = 0;
  async load(): Promise<LoadedBrokerState> {
    return { sessions: [], queues: [], retained: [], lastSeq: 0 };
  }
  saveSession(): void {}
  deleteSession(): void {}
  putQueued(): void {}
  deleteQueued(): void {}
  putRetained(): void {}
  deleteRetained(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
