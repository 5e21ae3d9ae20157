/**
 * The composition root, the only place that wires components together, lives in src/startup/:
 * `Runtime` starts the hub and the agent in dependency order and stops them in reverse. This
 * entry keeps the import path the CLI and the tests use.
 */
export { Runtime, type RuntimeOptions } from './startup/runtime.js';
export type { ConfigSource } from './startup/watch-hub-config.js';
