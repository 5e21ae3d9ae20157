export { Hub, type HubOptions, type HubPorts } from './hub.js';
export type { ProtocolAdapter, ConnectionInfo } from './transport/index.js';
