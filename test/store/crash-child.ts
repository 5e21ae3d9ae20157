/**
 * The process the crash tests kill with SIGKILL: a real MessageStore (real shard workers, real
 * RocksDB in argv[2]) that publishes numbered messages on the parent's command and delivers
 * routed messages to the parent, over IPC. The parent plays both the publisher (it counts a
 * message as acknowledged only when the submit resolved here) and the module (a delivery is
 * acknowledged only after the parent recorded it), exactly as MQTT clients would.
 */
import type { DeliveryOutcome } from '../../src/hub/endpoints/index.js';
import { MessageStore } from '../../src/hub/store/index.js';
import { message, numberOf, storeOptions, testLogger } from './store-harness.js';

export type ToChild = { kind: 'publish'; source: string; from: number; count: number } | { kind: 'settle'; ids: number[] } | { kind: 'close' };
export type FromChild =
  | { kind: 'ready'; queued: number; openMs: number }
  | { kind: 'acked'; source: string; numbers: number[] }
  | { kind: 'delivered'; items: [id: number, source: string, n: number][] }
  | { kind: 'closed' };

const dir = process.argv[2]!;
const send = (m: FromChild) => process.send!(m);

const store = await MessageStore.open(
  storeOptions('rocksdb', dir, { shards: 2, deliveryWindow: 64, retryMinMs: 5, retryMaxMs: 50 }),
  { routes: { toModule: 'FROM /messages/modules/+ INTO BrokeredEndpoint("/modules/sink/inputs/in")', all: 'FROM /messages/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' } },
  testLogger(),
);
let nextId = 1;
const pending = new Map<number, (outcome: DeliveryOutcome) => void>();
let batch: [number, string, number][] = [];
store.attach({
  deliver(_endpoint, delivered, onSettled) {
    const id = nextId++;
    pending.set(id, onSettled);
    batch.push([id, String(delivered.properties.from), numberOf(delivered)]);
    if (batch.length === 1) {
      setImmediate(() => {
        send({ kind: 'delivered', items: batch });
        batch = [];
      });
    }
    return true;
  },
});

process.on('message', (command: ToChild) => {
  if (command.kind === 'settle') {
    for (const id of command.ids) {
      pending.get(id)?.('acked');
      pending.delete(id);
    }
  } else if (command.kind === 'publish') {
    const source = command.source.startsWith('m-') ? { device: 'edge', module: command.source, output: 'out' } : { device: command.source };
    const acked: number[] = [];
    let flushScheduled = false;
    for (let n = command.from; n < command.from + command.count; n++) {
      store.submit(message(source, n)).then(() => {
        acked.push(n);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(() => {
            flushScheduled = false;
            send({ kind: 'acked', source: command.source, numbers: acked.splice(0) });
          });
        }
      }, (error: unknown) => process.stderr.write(`submit ${command.source} ${n} failed: ${String(error)}\n`));
    }
  } else {
    void store.close().then(() => {
      send({ kind: 'closed' });
      process.disconnect();
    });
  }
});

const stats = await store.stats();
send({ kind: 'ready', queued: stats.totals.queued, openMs: 0 });
