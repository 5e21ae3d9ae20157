import type { Logger, RateLimitedLog } from '../../../log/index.js';
import type { Authenticator, ChainLookup } from '../../auth/index.js';
import type { C2dDeliveries } from '../../c2d/index.js';
import type { ConnectedClients } from '../../core/index.js';
import type { MessageSink } from '../../endpoints/index.js';
import type { MethodService } from '../../methods/index.js';
import type { TwinService } from '../../twin/index.js';
import type { AmqpConnection } from './amqp-connection.js';

/** What the IoT Hub operations over AMQP need from the rest of the hub (the hub core's services). */
export interface AmqpHubServices {
  readonly edgeDeviceId: string;
  readonly sink: MessageSink;
  readonly twins: TwinService;
  readonly clients: ConnectedClients;
  readonly methods: MethodService;
  readonly c2d?: C2dDeliveries;
  /** The identity registry, to check a link's `com.microsoft:auth-chain` (nested edge); without it the property is not checked. */
  readonly chains?: ChainLookup;
}

/** Limits of the AMQP adapter, in the units of the resolved configuration. */
export interface AmqpLimits {
  /** Largest message a client may send (link max-message-size). */
  readonly maxMessageBytes: number;
  /** max-frame-size announced in Open; larger frames close the connection. */
  readonly maxFrameBytes: number;
  /** idle-time-out announced in Open; 0 for none. */
  readonly idleTimeoutMs: number;
  /** Credit each receiving link gets: transfers the client may have unsettled at once. */
  readonly linkCredit: number;
  /** Added to a SAS token's expiry before its links are closed (auth.sasClockSkew). */
  readonly clockSkewMs: number;
}

/** What every AMQP connection shares. */
export interface AmqpContext {
  readonly authenticator: Authenticator;
  readonly services: AmqpHubServices;
  readonly limits: AmqpLimits;
  readonly logger: Logger;
  readonly refusals: RateLimitedLog;
  /** `DeviceGateway_<uuid>`, as edge hub names its container. */
  readonly containerId: string;
  /** Counts protocol errors by reason, for metrics and tests. */
  readonly protocolErrors: Map<string, number>;
  stopping: boolean;
  /** A connection's stream closed, after the connection cleaned up. */
  readonly closed: (connection: AmqpConnection) => void;
}
