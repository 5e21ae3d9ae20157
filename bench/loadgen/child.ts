// Entry point of a load generator process: `node dist/bench/loadgen/child.js '<ChildConfig JSON>'`,
// started by the harness with an IPC channel (bench/lib/children.ts). Connects, says 'ready',
// then follows 'start' / 'mark' / 'stop' from the parent and sends back one report.
import type { ChildConfig, ChildMessage, ParentMessage } from './protocol.js';
import { ModulePublisher } from './module-publisher.js';
import { ModuleSubscriber } from './module-subscriber.js';
import { Publisher } from './publisher.js';
import { Storm } from './storm.js';
import { Subscriber } from './subscriber.js';

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Sends the final report and exits once the IPC channel has taken it. */
function finish(message: ChildMessage): void {
  process.send?.(message, undefined, {}, () => process.exit(0));
}

function fail(error: unknown): never {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

async function main(): Promise<void> {
  const text = process.argv[2];
  if (text === undefined || process.send === undefined) {
    process.stderr.write('loadgen child: run by the bench harness with an IPC channel and a JSON config argument\n');
    process.exit(2);
  }
  const config = JSON.parse(text) as ChildConfig;
  // The parent going away (harness killed) must not leave generators hammering a broker.
  process.on('disconnect', () => process.exit(0));

  if (config.role === 'storm') {
    const storm = new Storm(config);
    send({ type: 'ready' });
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'start') {
        storm.run().then((report) => send({ type: 'connected', report }), fail);
      } else if (message.type === 'stop') {
        storm.stop().then((report) => finish({ type: 'report', report }), fail);
      }
    });
    return;
  }

  const role =
    config.role === 'publisher'
      ? new Publisher(config)
      : config.role === 'module-publisher'
        ? new ModulePublisher(config)
        : config.role === 'module-subscriber'
          ? new ModuleSubscriber(config)
          : new Subscriber(config);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'start') {
      if (role instanceof Publisher || role instanceof ModulePublisher) role.start();
    } else if (message.type === 'mark') {
      role.mark(message.phase);
    } else if (message.type === 'stop') {
      role.stop().then((report) => finish({ type: 'report', report }), fail);
    }
  });
  await role.ready;
  send({ type: 'ready' });
}

main().catch(fail);
