export { Agent, DEFAULT_DEPLOYMENT_FILE, deploymentFileOf, agentDirOf, controlSocketOf, processLogFileOf, type AgentOptions, type DeploymentListener } from './agent.js';
export * from './manifest/index.js';
export type { ReportedProperties } from './run/reported-properties.js';
export type { CommandObserver } from './run/plan-runner.js';
export { ControlClient } from './run/control-client.js';
export { LocalModuleEnvironment, type ModuleEnvironmentProvider, type LocalModuleEnvironmentOptions } from './runtime/module-environment.js';
export type { ModuleRuntime, CreateRequest, LogOptions } from './runtime/module-runtime.js';
export { LogWindowFilter, lineTimeMs, inWindow, parseTimeArg, type LogWindow } from './runtime/log-window.js';
