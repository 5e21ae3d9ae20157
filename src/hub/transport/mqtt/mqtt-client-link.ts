import type { ClientLink, ClientSubscriptionKind, MethodRequest } from '../../core/index.js';
import type { DeliveryOutcome } from '../../endpoints/index.js';
import type { HubMessage } from '../../message/index.js';
import { OutboundTopic } from './iothub/index.js';
import type { ConnectionState } from './connection-state.js';

/**
 * One MQTT connection of an IoT Hub identity as the hub core sees it (ClientLink). A method
 * request is a QoS 0 PUBLISH on `$iothub/methods/POST/{name}/?$rid={rid}`, as IoT Hub sends it; a
 * module input is a QoS 1 PUBLISH on `devices/{d}/modules/{m}/inputs/{input}/{bag}` through the
 * connection's outbound writer (its own packet ids and window), never through the broker session.
 */
export class MqttClientLink implements ClientLink {
  readonly protocol = 'mqtt';
  readonly identity: string;

  /**
   * `conn`: the connection, which keeps this link (`coreLink`) while it is registered. The link
   * reads what it needs from it when asked, rather than keeping an options object and closures
   * of its own (issue 20: memory per idle connection): the session's IoT Hub subscriptions (the
   * MQTT transport's own state, kept across reconnects of a persistent session, since the Azure
   * SDK does not subscribe again after reconnecting), the outbound writer (QoS 0 replies and the
   * hub core's QoS 1 deliveries) and the logger.
   */
  constructor(
    private readonly conn: ConnectionState,
    private readonly deviceId: string,
    private readonly moduleId: string | undefined,
  ) {
    this.identity = moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
  }

  subscribed(kind: ClientSubscriptionKind): boolean {
    return this.conn.session?.iotHub?.has(kind) === true;
  }

  sendMethodRequest(request: MethodRequest): boolean {
    const topic = OutboundTopic.methodRequest(request.methodName, request.requestId);
    if (!topic.ok) return false;
    this.conn.writer.reply(topic.topic, request.payload);
    return true;
  }

  sendModuleInput(inputName: string, message: HubMessage, onSettled: (outcome: DeliveryOutcome) => void): boolean {
    const { moduleId } = this;
    const writer = this.conn.writer;
    // A device has no inputs; a full window is told before any work on the topic.
    if (moduleId === undefined || !writer.canSendCore()) return false;
    const topic = OutboundTopic.moduleInput(this.deviceId, moduleId, inputName, message);
    if (!topic.ok) {
      this.conn.log.warn({ event: 'iothub.module_input_topic_invalid', moduleId, inputName, reason: topic.reason }, 'cannot build a module input topic');
      onSettled('rejected');
      return true;
    }
    const body = message.body;
    return writer.sendCore(topic.topic, Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength), onSettled);
  }
}
