export { MessageStore, type StoreRoutes } from './message-store.js';
export { storeOptionsFromConfig, defaultShardCount, STORE_TUNING, type FullPolicy, type StoreOptions } from './store-options.js';
export type { StoreMetrics } from './store-metrics.js';
export type { StoreObserver } from './store-observer.js';
export { aggregateStats, type EndpointStats, type ShardStats, type StoreStats } from './store-stats.js';
export { inspectStore } from './inspect-store.js';
export type { SyncMode } from './shard-protocol.js';
export { storeRoutesFromDeployment } from './deployment-routes.js';
export { backupDataDir, restoreDataDir, type BackupManifest } from './data-dir-backup.js';
