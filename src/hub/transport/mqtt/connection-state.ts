import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { Logger } from '../../../log/index.js';
import type { ClientIdentity } from '../../auth/index.js';
import type { BrokerMessage, Session } from '../../broker/index.js';
import type { ConnectionInfo } from '../protocol-adapter.js';
import type { IotHubHandler } from './iothub-handler.js';
import type { MqttClientLink } from './mqtt-client-link.js';
import type { LiveConnection, MqttContext } from './mqtt-context.js';
import type { OutboundWriter } from './outbound-writer.js';
import type { Violation } from './protocol-violation.js';

/** A client's will, published when its connection ends without a normal DISCONNECT. */
export interface Will {
  readonly message: BrokerMessage;
  readonly delaySec: number;
}

/** Acknowledgements of PUBLISHes accepted together: sent when `wait` settles, after every earlier group. */
export interface AckGroup {
  readonly wait: Promise<void> | undefined;
  readonly acks: Packet[];
  settled: boolean;
  error: unknown;
}

/**
 * One connection as its packet handlers (handle-*.ts) see it: MqttConnection implements it. The
 * handlers depend on this interface, not on the class, so the class can import them.
 */
export interface ConnectionState extends LiveConnection {
  protocolVersion: 3 | 4 | 5;
  readonly stream: Duplex;
  readonly info: ConnectionInfo;
  readonly ctx: MqttContext;
  readonly writer: OutboundWriter;
  session: Session | undefined;
  readonly clientId: string;
  identity: ClientIdentity | undefined;
  /** The hub core's link of an IoT Hub identity's connection, registered in `ctx.iotHub.clients` until close. */
  coreLink: MqttClientLink | undefined;
  modelId: string | undefined;
  will: Will | undefined;
  keepAliveMs: number;
  readonly closed: boolean;
  authenticating: boolean;
  readonly ackGroups: AckGroup[];
  inboundAliases: Map<number, string> | undefined;
  /** The IoT Hub dialect of an IoT Hub identity, made on first use; undefined for anonymous clients. */
  readonly iotHub: IotHubHandler | undefined;
  readonly log: Logger;
  /** The client id is known (CONNECT accepted): log lines name it from now on. */
  identify(clientId: string): void;
  send(packet: Packet): void;
  /** Parses and dispatches the packets received so far (after an asynchronous CONNECT). */
  processFrames(): void;
  armKeepAlive(): void;
  protocolError(violation: Violation, reasonCode: number | undefined, detail?: string): void;
  disconnectWith(code: number, withWill: boolean): void;
  close(why: string, withWill: boolean): void;
}
