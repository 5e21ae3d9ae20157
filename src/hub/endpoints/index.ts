export type { DeliveryOutcome, MessageSink } from './message-sink.js';
export type { EndpointTarget } from './endpoint-target.js';
export { moduleInputTarget, type ModuleInputTargetOptions } from './module-input-target.js';
