export { parseBridges, BRIDGE_DIRECTIONS, UPSTREAM_ENDPOINT, type BridgeDirection, type BridgeProblem, type BridgeRule, type BridgesParse } from './parse-bridges.js';
export { rewriteTopic, sourceFilter, type Rewrite } from './rewrite-topic.js';
export { bridgeRulesFromDeployment, deploymentBridgeProblems } from './deployment-bridges.js';
export { MqttBridge, type BridgeCounters, type MqttBridgeOptions } from './mqtt-bridge.js';
export { openBridge } from './open-bridge.js';
