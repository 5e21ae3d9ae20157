export { MqttUpstream, type MqttUpstreamOptions } from './mqtt-upstream.js';
export { telemetryTopic, eventsTopicPrefix } from './mqtt-telemetry-topic.js';
