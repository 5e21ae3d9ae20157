export { hubMessageAmqp, setOwn, SYSTEM_APP_PROPERTIES, SystemAppProperty, TelemetryAnnotation, type HubMessageAmqpOptions } from './hub-message-amqp.js';
export { bodyBytes, idText } from './amqp-body.js';
