import type { Logger } from '../../../log/index.js';
import type { Authenticator, Authorizer, DeviceScope, IdentityLookup } from '../../auth/index.js';
import type { RateLimitedLog } from '../../../log/index.js';
import type { Broker } from '../../broker/index.js';
import type { DeadlineWheel } from './deadline-wheel.js';
import type { IotHubServices } from './iothub-handler.js';
import type { MqttConnection } from './mqtt-connection.js';

/** Limits of the MQTT adapter, in the units of the resolved configuration. */
export interface MqttLimits {
  readonly maxPacketBytes: number;
  readonly receiveMaximum: number;
  /**
   * QoS 1/2 PUBLISHes in flight to one client (mqtt.maxInflight): broker-session messages and
   * hub-core deliveries (module inputs, C2D) together, within the client's Receive Maximum.
   */
  readonly maxInflight: number;
  readonly maxConnectionBufferBytes: number;
  readonly maxKeepAliveSec: number;
  readonly maxSessionExpirySec: number;
  readonly topicAliasMaximum: number;
}

/** A live connection as others see it: for session takeover and a revoked connect permission. */
export interface LiveConnection {
  takeOver(): void;
  /** The authorization policy no longer lets this client connect. */
  revoke(): void;
}

/** What every MQTT connection shares. */
export interface MqttContext {
  readonly broker: Broker;
  readonly authenticator: Authenticator;
  readonly limits: MqttLimits;
  readonly logger: Logger;
  /** The IoT Hub dialect for device and module identities; absent in a bare broker. */
  readonly iotHub: IotHubServices | undefined;
  /** The broker's authorization policy for general topics; absent: every authenticated client may use them. */
  readonly authorizer: Authorizer | undefined;
  /** Parent/child relations, so a parent may act for its children on IoT Hub topics. */
  readonly scope: DeviceScope | undefined;
  /** Registered identities, whose client ids no other identity may use (checked at CONNECT). */
  readonly identities: IdentityLookup | undefined;
  /** Rate-limited warnings for refusals that repeat per message. */
  readonly refusals: RateLimitedLog;
  /** Connected clients by client id (at most one each: MQTT-3.1.4-3). */
  readonly live: Map<string, LiveConnection>;
  /** Wills waiting out their delay, by client id; a reconnect cancels them (MQTT 5 section 3.1.3.2.2). */
  readonly pendingWills: Map<string, NodeJS.Timeout>;
  /** Every connection's CONNECT or keep-alive deadline, on one timer. */
  readonly deadlines: DeadlineWheel;
  /** Counts protocol errors by reason, for metrics and tests. */
  readonly protocolErrors: Map<string, number>;
  /** True once shutdown began: new CONNECTs are refused. */
  stopping: boolean;
  /** A connection's stream closed: the adapter stops counting it. */
  readonly streamClosed: (connection: MqttConnection) => void;
}
