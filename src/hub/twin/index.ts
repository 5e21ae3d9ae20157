export { MemoryTwinStore } from './memory-twin-store.js';
export { RocksTwinStore } from './rocks-twin-store.js';
export { TwinService, failure as twinFailure, type DesiredListener, type ReportedListener, type TwinObserver, type TwinServiceOptions, type UpstreamTwinGet } from './twin-service.js';
export type { PendingReported, TwinRecord, TwinStore } from './twin-store.js';
export { TWIN_CHANGE_SCHEMA, twinChangeMessage, type TwinChange } from './twin-change-message.js';
export { appendFolded, diffPatch, MAX_UNFOLDED_PATCHES, mergePatch, type FoldedPatch } from './twin-patch.js';
export { sectionBytes, TwinLimits, validateTwinPatch, type PatchCheck } from './validate-twin-patch.js';
export {
  emptyTwin,
  IotHubErrorCode,
  splitTwinId,
  twinIdOf,
  TwinStatus,
  type DesiredNotification,
  type Json,
  type StoredTwin,
  type TwinDocument,
  type TwinFailure,
  type TwinGetResult,
  type TwinPatchResult,
  type TwinProperties,
  type TwinSection,
} from './twin-types.js';
export { systemModuleTwins } from './system-module-twins.js';
