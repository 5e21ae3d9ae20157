export { MessageStore, type StoreRoutes } from './message-store.js';
export { moduleInputTarget } from './module-input-target.js';
export { storeOptionsFromConfig, defaultShardCount, STORE_TUNING, type FullPolicy, type StoreOptions } from './store-options.js';
export type { EndpointTarget } from './endpoint-dispatcher.js';
export type { StoreMetrics } from './store-metrics.js';
export { aggregateStats, type EndpointStats, type ShardStats, type StoreStats } from './store-stats.js';
export { inspectStore } from './inspect-store.js';
export type { SyncMode } from './shard-protocol.js';
export { storeRoutesFromDeployment } from './deployment-routes.js';
