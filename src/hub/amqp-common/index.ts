export { hubMessageAmqp, setOwn, SYSTEM_APP_PROPERTIES, SystemAppProperty, TelemetryAnnotation, type HubMessageAmqpOptions } from './hub-message-amqp.js';
export { bodyBytes, idText } from './amqp-body.js';
export { decodeFastFrame, encodePerformative, FastPerformative, installFastFrames } from './fast-frames.js';
export { encodeFrame, reuseFrameBuffer } from './frame-writer.js';
export { BATCHED_MESSAGE_FORMAT, decodeBatch, encodeBatch, type BatchDecode } from './batch-codec.js';
export { installSessionScheduling } from './session-scheduling.js';
