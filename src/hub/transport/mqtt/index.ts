export { MqttAdapter, type MqttAdapterOptions } from './mqtt-adapter.js';
export type { MqttLimits } from './mqtt-context.js';
export { PacketFramer, type FrameResult } from './packet-framer.js';
export { ReasonCode, ConnackReturnCode } from './reason-codes.js';
export { MqttCredentials, type MqttLogin } from './mqtt-credentials.js';
