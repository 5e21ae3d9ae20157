// amqp-telemetry — acknowledged AMQP 1.0 telemetry on one TLS connection (issue 17): one device
// (SASL PLAIN, its SAS token) sends 256-byte transfers on one link with at most 1000 unsettled, a
// new one for each settlement; the headline is transfers settled `accepted` per second. Outpost
// settles once the message is in the store (a route holds device telemetry for a module that
// never connects). Also runs against the AMQP 1.0 peer (`--target rabbitmq`: RabbitMQ 3.10 with
// rabbitmq_amqp1_0, a queue with no consumer, transient messages: its fastest case); the
// variant amqp-telemetry-durable sends them durable. The generator is C on Qpid Proton
// (bench/loadgen/amqp-loadgen.c). Warm-up 2 s, window 5 s.
// Run: npm run bench -- amqp-telemetry --target outpost,rabbitmq
import { AMQP_TELEMETRY_TARGETS, amqpSetup, runAmqpTelemetry } from '../lib/amqp-flows.js';
import type { Scenario } from './scenario.js';

export const amqpTelemetry: Scenario = {
  name: 'amqp-telemetry',
  description: 'AMQP 1.0 telemetry on one TLS connection, 1000 unsettled: settled-accepted msg/s (outpost, rabbitmq)',
  targets: AMQP_TELEMETRY_TARGETS,
  outpostSetup: (dataDir, options) => amqpSetup(dataDir, options),
  run: (target, options) => runAmqpTelemetry(target, options, { durable: false }),
};

export const amqpTelemetryDurable: Scenario = {
  name: 'amqp-telemetry-durable',
  description: 'amqp-telemetry with the durable header flag set (RabbitMQ persists each message; Outpost always stores)',
  targets: AMQP_TELEMETRY_TARGETS,
  outpostSetup: (dataDir, options) => amqpSetup(dataDir, options),
  run: (target, options) => runAmqpTelemetry(target, options, { durable: true }),
};
