export type { ClientIdentity, PropertyMap, Refusal } from './iothub-types.js';
export { parseIotHubUsername, type IotHubConnectInfo, type UsernameResult } from './parse-iothub-username.js';
export {
  classifyPublishTopic,
  type InboundTopic,
  type InboundTopicResult,
  type TelemetryTopic,
} from './classify-publish-topic.js';
export { decodePropertyBag, type PropertyBagResult } from './decode-property-bag.js';
export { encodePropertyBag } from './encode-property-bag.js';
export { escapeDataString } from './escape-data-string.js';
export { unescapeDataString } from './unescape-data-string.js';
export { INBOUND_SYSTEM_KEYS, OUTBOUND_SYSTEM_KEYS } from './system-property-keys.js';
export {
  toHubMessage,
  ORIGIN_DOWNSTREAM,
  ORIGIN_INTERNAL,
  RETAIN_PROPERTY,
  type PublishContext,
} from './to-hub-message.js';
export { OutboundTopic, type TopicResult } from './outbound-topic.js';
export { classifySubscription, type IotHubSubscription } from './classify-subscription.js';
export { mayUseIotHubSubscription } from './may-use-iothub-subscription.js';
