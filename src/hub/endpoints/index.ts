export type { MessageSink, ModuleInputSink } from './message-sink.js';
export { InterimRouter, type RouterCounters } from './interim-router.js';
