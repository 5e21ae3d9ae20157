export { WebSocketUpgrade, Subprotocol, WEBSOCKET_PATH, type StreamProtocolAdapter, type WebSocketProtocol, type WebSocketUpgradeOptions } from './websocket-upgrade.js';
export { WebSocketDuplex, CloseCode } from './websocket-duplex.js';
export { loadWebSocketEngine, UWEBSOCKETS_PACKAGE, type LoadWebSocketEngineOptions } from './load-websocket-engine.js';
export type { WebSocketEngine, WebSocketEngineOptions } from './websocket-engine.js';
export { WsEngine } from './ws-engine.js';
