export { hubMessageAmqp, setOwn, SYSTEM_APP_PROPERTIES, SystemAppProperty, TelemetryAnnotation, type HubMessageAmqpOptions } from './hub-message-amqp.js';
export { bodyBytes, idText } from './amqp-body.js';
export { decodeFastFrame, encodePerformative, FastPerformative, installFastFrames } from './fast-frames.js';
export { encodeFrame, reuseFrameBuffer } from './frame-writer.js';
export { BATCH_SECTION_OVERHEAD, BATCHED_MESSAGE_FORMAT, BatchBuilder, decodeBatch, encodeBatch, type BatchDecode } from './batch-codec.js';
export { installSessionScheduling } from './session-scheduling.js';
export { createConnection } from './shared-connection.js';
export { shareEmptyValues, shareEmptyValuesIn } from './shared-empty-values.js';
