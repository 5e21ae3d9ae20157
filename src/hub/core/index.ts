export type { ClientLink, ClientSubscriptionKind, MethodRequest } from './client-link.js';
export { ConnectedClients } from './connected-clients.js';
