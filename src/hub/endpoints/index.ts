export type { DeliveryOutcome, MessageSink, ModuleInputSink } from './message-sink.js';
