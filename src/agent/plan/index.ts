export { plan, type Plan, type PlanInput } from './planner.js';
export { describeCommand, type Command, type CommandKind, type RestartReason } from './commands.js';
export { NO_RESTARTS, type ActualModule, type ActualState, type HealthState, type RestartRecord } from './actual-module.js';
export { AZURE_RESTART_OPTIONS, coolOffMs, type RestartOptions } from './restart-options.js';
export { restartDecision, policyCovers, effectiveRestartCount, type RestartDecision } from './restart-decision.js';
export { moduleStatus, type ModuleStatus, type RuntimeStatus } from './module-status.js';
