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

export type ToChild = { kind: 'publish'; source: string; from: number; count: number } | { kind: 'settle'; ids: number[] } | { kind: 'diagnose' } | { kind: 'close' };
export type FromChild =
  | { kind: 'ready'; queued: number; openMs: number }
  | { kind: 'acked'; source: string; numbers: number[] }
  | { kind: 'delivered'; items: [id: number, source: string, n: number][] }
  /** Answer to `diagnose`: the store's delivery state and this side's delivery traffic. */
  | { kind: 'state'; delivery: unknown; metrics: unknown; traffic: ChildTraffic; submitFailures: string[] }
  | { kind: 'closed' };

/** Deliveries handed to this process, sent to the parent, and settled by it (a failure report sets them beside the parent's). */
export interface ChildTraffic {
  delivered: number;
  sent: number;
  settled: number;
  unsettled: number;
}

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
const traffic: ChildTraffic = { delivered: 0, sent: 0, settled: 0, unsettled: 0 };
/** The first refusals (a refused submit is never acknowledged, so never expected). */
const submitFailures: string[] = [];
store.attach({
  deliver(_endpoint, delivered, onSettled) {
    const id = nextId++;
    pending.set(id, onSettled);
    traffic.delivered++;
    batch.push([id, String(delivered.properties.from), numberOf(delivered)]);
    if (batch.length === 1) {
      setImmediate(() => {
        send({ kind: 'delivered', items: batch });
        traffic.sent += batch.length;
        batch = [];
      });
    }
    return true;
  },
});

process.on('message', (command: ToChild) => {
  if (command.kind === 'settle') {
    for (const id of command.ids) {
      if (pending.has(id)) traffic.settled++;
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
      }, (error: unknown) => {
        if (submitFailures.length < 10) submitFailures.push(`${command.source} ${n}: ${String(error)}`);
        process.stderr.write(`submit ${command.source} ${n} failed: ${String(error)}\n`);
      });
    }
  } else if (command.kind === 'diagnose') {
    send({ kind: 'state', delivery: store.deliveryState(), metrics: store.metrics, traffic: { ...traffic, unsettled: pending.size }, submitFailures });
  } else {
    void store.close().then(() => {
      send({ kind: 'closed' });
      process.disconnect();
    });
  }
});

const stats = await store.stats();
send({ kind: 'ready', queued: stats.totals.queued, openMs: 0 });
