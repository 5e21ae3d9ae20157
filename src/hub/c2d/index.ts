export { C2dService, type C2dCounters, type C2dFailure, type C2dSendInput, type C2dSendResult, type C2dServiceOptions } from './c2d-service.js';
export { c2dAddress, type C2dDeliveries, type C2dDeliveryTarget, type C2dFeedback, type C2dMessage } from './c2d-message.js';
export { C2D_LIMITS, C2dStatus, type C2dLimits } from './c2d-limits.js';
export type { C2dStore } from './c2d-store.js';
export { MemoryC2dStore } from './memory-c2d-store.js';
export { RocksC2dStore } from './rocks-c2d-store.js';
