export { HubControlClient } from './hub-control-client.js';
export { HubControlServer, serveControlRequest, type HubControlAnswer, type HubControlHandlers } from './hub-control-server.js';
export { API_TOKEN_FILE, apiToken, OPERATOR_API_METHODS, OPERATOR_API_PREFIX, operatorApiRoute } from './operator-api-route.js';
export { twinControl } from './twin-control.js';
export { methodControl } from './method-control.js';
export { deployControl, type CheckedDeployment, type DeployControlHandlers } from './deploy-control.js';
export { c2dControl, type C2dControlHandlers } from './c2d-control.js';

/** The hub control socket of a data directory. */
export const HUB_CONTROL_SOCKET = 'hub.sock';
