import type { ClientLink, ClientSubscriptionKind, MethodRequest } from '../../core/index.js';
import type { DeliveryOutcome } from '../../endpoints/index.js';
import type { HubMessage } from '../../message/index.js';
import { OutboundTopic } from './iothub/index.js';

/**
 * One MQTT connection of an IoT Hub identity as the hub core sees it (ClientLink): subscriptions
 * are the session's IoT Hub subscriptions (kept across reconnects of a persistent session, as the
 * Azure SDK does not subscribe again), and a method request is a QoS 0 PUBLISH on
 * `$iothub/methods/POST/{name}/?$rid={rid}`, as IoT Hub sends it.
 */
export class MqttClientLink implements ClientLink {
  readonly protocol = 'mqtt';

  constructor(
    readonly identity: string,
    private readonly iotHubSubscriptions: () => ReadonlySet<string> | undefined,
    private readonly reply: (topic: string, payload: Buffer) => void,
  ) {}

  subscribed(kind: ClientSubscriptionKind): boolean {
    return this.iotHubSubscriptions()?.has(kind) === true;
  }

  sendMethodRequest(request: MethodRequest): boolean {
    const topic = OutboundTopic.methodRequest(request.methodName, request.requestId);
    if (!topic.ok) return false;
    this.reply(topic.topic, request.payload);
    return true;
  }

  /**
   * Module inputs over MQTT still go through MqttAdapter.deliverToModuleInput (the store's target);
   * this link does not take them yet, so the caller tries its other routes.
   */
  sendModuleInput(_inputName: string, _message: HubMessage, _onSettled: (outcome: DeliveryOutcome) => void): boolean {
    return false;
  }
}
