export { SystemProperty, messageSource, TWIN_CHANGE_SOURCE, type HubMessage, type SystemPropertyName } from './hub-message.js';
export { isoTime } from './iso-time.js';
export { edgeMessageId } from './edge-message-id.js';
