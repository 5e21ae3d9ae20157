export { SystemProperty, messageSource, TWIN_CHANGE_SOURCE, type HubMessage, type SystemPropertyName } from './hub-message.js';
export { isoTime } from './iso-time.js';
