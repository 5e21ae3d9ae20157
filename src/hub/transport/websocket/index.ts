export { WebSocketUpgrade, Subprotocol, WEBSOCKET_PATH, type StreamProtocolAdapter, type WebSocketProtocol, type WebSocketUpgradeOptions } from './websocket-upgrade.js';
export { WebSocketDuplex, CloseCode } from './websocket-duplex.js';
