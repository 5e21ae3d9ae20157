export { AmqpAdapter, type AmqpAdapterOptions } from './amqp-adapter.js';
export type { AmqpHubServices, AmqpLimits } from './amqp-context.js';
