export { ConfigSchema, type OutpostConfig, type DecodedConfig } from './schema.js';
export { loadConfig, formatProblem, describeOrigin, type LoadConfigInput, type LoadedConfig } from './load.js';
export { CONFIG_FILE_ENV, type ConfigProblem, type FlagValue, type Origin } from './sources.js';
export { leaves, envName, type LeafEntry } from './schema-helpers.js';
export { renderConfigDoc } from './docs.js';
export { parseDurationMs, parseBytes, formatDuration, formatBytes } from './units.js';
export { ConfigWatcher, changedLeaves, type ConfigWatcherOptions } from './config-watcher.js';
export { hostEnvironment } from './host-environment.js';
export { planMemory, plannedShards, memoryFloor, mainHeapFlags, type MemoryPlan } from './memory-plan.js';
