export { Agent, DEFAULT_DEPLOYMENT_FILE, deploymentFileOf, type AgentOptions } from './agent.js';
export * from './manifest/index.js';
