export type { ConnectionInfo, ProtocolAdapter } from './protocol-adapter.js';
export { UnavailableProtocolAdapter } from './unavailable-adapter.js';
export { ConnectionRegistry } from './connection-registry.js';
export { SocketListener, type SocketListenerOptions } from './socket-listener.js';
export { HttpsListener, type RequestHandler, type UpgradeHandler } from './https/https-listener.js';
export { MqttAdapter, MqttCredentials, type MqttAdapterOptions, type MqttLimits, type MqttLogin } from './mqtt/index.js';
export { methodsRoute, METHODS_ROUTE_PREFIX, type MethodsRouteOptions } from './https/methods-route.js';
export { WebSocketUpgrade, Subprotocol, WEBSOCKET_PATH, type StreamProtocolAdapter, type WebSocketProtocol } from './websocket/index.js';
export { AmqpAdapter, type AmqpAdapterOptions, type AmqpHubServices, type AmqpLimits } from './amqp/index.js';
