// Messages between the harness (parent) and load generator processes (children), over Node's IPC
// channel. Control traffic only: a handful of messages per run, never one per MQTT message.
import type { HistogramSnapshot } from '../lib/histogram.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface PublisherConfig extends Endpoint {
  readonly role: 'publisher';
  readonly clientId: string;
  readonly topic: string;
  readonly qos: 0 | 1;
  readonly payloadBytes: number;
  readonly seed: number;
  /** Publisher index, written into each payload. */
  readonly index: number;
  /** QoS 0: messages per write; each write ends with a PINGREQ. */
  readonly batch: number;
  /**
   * QoS 0: writes whose PINGRESP has not come back yet. A broker answers PINGREQ after the
   * PUBLISHes before it on the same connection, so this bounds what sits unread in socket
   * buffers and keeps latency a property of the broker, not of kernel buffer sizes.
   */
  readonly pingsInFlight: number;
  /** QoS 1: unacknowledged PUBLISHes allowed in flight. */
  readonly window: number;
  /**
   * QoS 1: refill the window only once this many slots are free (1: after every PUBACK, as
   * MQTT clients do). Larger values batch writes, cheaper for both sides on loopback.
   */
  readonly refillMin: number;
  /**
   * When set: publish to this many distinct topics, round-robin. The last run of digits in
   * `topic` is rewritten in each message with the message's turn (0 … topics - 1), zero-padded to
   * that run's width, so every PUBLISH has the same size and nothing is allocated per message.
   */
  readonly topics?: number;
}

export interface SubscriberConfig extends Endpoint {
  readonly role: 'subscriber';
  /** Client ids are clientIdPrefix + n for n in first … first + count - 1. */
  readonly clientIdPrefix: string;
  readonly first: number;
  readonly count: number;
  readonly filter: string;
  readonly qos: 0 | 1;
}

export interface StormConfig extends Endpoint {
  readonly role: 'storm';
  readonly clientIdPrefix: string;
  readonly clients: number;
  /** Connections whose CONNACK is awaited at once. */
  readonly concurrency: number;
  readonly keepAliveSec: number;
  readonly seed: number;
  /**
   * A file of `clientId<TAB>username<TAB>password` lines, one per client in order (see
   * writeCredentialsFile in bench/lib/sas-devices.ts): client ids then come from it instead of
   * clientIdPrefix, and each CONNECT carries that user name and password. The harness signs
   * the tokens; a generator only sends them.
   */
  readonly credentialsFile?: string;
  /**
   * TLS (the C generator only): verify the server against `caFile`; `sessionsOut`: write every
   * client's last TLS session at stop; `sessionsIn`: present those sessions (resume) at connect.
   */
  readonly tls?: { readonly caFile: string; readonly sessionsIn?: string; readonly sessionsOut?: string };
}

/**
 * IoT Hub module clients over MQTT 3.1.1 on TLS with SAS tokens (the routed scenarios). Node
 * generator only: the C one has no TLS. `credentialsFile` holds one line per connection
 * (`<device>/<module>`, user name, token); the module ids come from it.
 */
interface ModuleClientConfig extends Endpoint {
  /** PEM of the CA that verifies the hub's server certificate. */
  readonly caPem: string;
  /** TLS server name (SNI and certificate check). */
  readonly servername: string;
  readonly credentialsFile: string;
  /** MQTT over WebSocket at this path (the hub's HTTPS listener) instead of MQTT over TLS. */
  readonly websocketPath?: string;
}

export interface ModulePublisherConfig extends ModuleClientConfig {
  readonly role: 'module-publisher';
  /** Connections (module identities), one per credentials line: each publishes module output. */
  readonly connections: number;
  readonly payloadBytes: number;
  readonly seed: number;
  /** QoS 1 PUBLISHes awaiting PUBACK, per connection. */
  readonly window: number;
  /**
   * 0: closed loop, each PUBACK lets the next PUBLISH go. Otherwise open loop at this total rate
   * (messages per second over all connections): the k-th message is due at start + k / rate and
   * carries that instant as its timestamp, so a message held back by a full window (the hub not
   * keeping up) counts its wait in its latency instead of disappearing from it.
   */
  readonly offeredPerSec: number;
}

export interface ModuleSubscriberConfig extends ModuleClientConfig {
  readonly role: 'module-subscriber';
  /** Subscribes to `devices/<device>/modules/<module>/inputs/#` at QoS 1 and acknowledges every message. */
}

export type ChildConfig = PublisherConfig | SubscriberConfig | StormConfig | ModulePublisherConfig | ModuleSubscriberConfig;

/** Roles only the Node generator has. */
export function isNodeOnlyRole(config: ChildConfig): config is ModulePublisherConfig | ModuleSubscriberConfig {
  return config.role === 'module-publisher' || config.role === 'module-subscriber';
}

export type ParentMessage =
  | { readonly type: 'start' }
  | { readonly type: 'mark'; readonly phase: 'begin' | 'end' }
  | { readonly type: 'stop' };

export interface PublisherReport {
  readonly role: 'publisher';
  readonly sentTotal: number;
  readonly sentInWindow: number;
  readonly ackedInWindow: number;
  /** QoS 1: PUBLISH → PUBACK round trip, in the window. */
  readonly ackLatency: HistogramSnapshot;
  /** Open loop: messages due but not yet sent (windows full) when the window began and ended. */
  readonly backlogAtBegin?: number;
  readonly backlogAtEnd?: number;
  /** Open loop, in the window: due → actually written (timer and scheduling delay, and waits for a window slot). */
  readonly sendLag?: HistogramSnapshot;
  /** Open loop, in the window: messages that were due at an earlier tick but found every window full then. */
  readonly heldByWindow?: number;
}

export interface SubscriberReport {
  readonly role: 'subscriber';
  readonly receivedTotal: number;
  readonly receivedInWindow: number;
  /** Publish (payload timestamp) → receive, in the window. */
  readonly latency: HistogramSnapshot;
}

export interface StormReport {
  readonly role: 'storm';
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | null;
  /** Monotonic µs when the first connect began and the last CONNACK arrived. */
  readonly startedAtMicros: number;
  readonly finishedAtMicros: number;
  /** TCP connect start → CONNACK. */
  readonly connectLatency: HistogramSnapshot;
  /** TLS storms: handshakes the server accepted as session resumptions. */
  readonly resumed?: number;
}

export type ChildReport = PublisherReport | SubscriberReport | StormReport;

export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'connected'; readonly report: StormReport }
  | { readonly type: 'report'; readonly report: ChildReport }
  | { readonly type: 'error'; readonly message: string };
