/**
 * Child process of packet-id-slots.test.ts (run with --expose-gc): messages go through an
 * in-flight table as through a session under QoS 1 load (a new one in, the oldest acknowledged
 * out, 256 in flight), a full collection is forced half-way, and the major collections after it
 * are counted. Prints JSON. Argument: `slots` (PacketIdSlots) or `map` (a Map, for contrast).
 */
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { PacketIdSlots } from '../../../src/hub/broker/index.js';

interface Table {
  add(value: object): number;
  take(id: number): object | undefined;
}

function mapTable(): Table {
  const map = new Map<number, object>();
  let next = 0;
  return {
    add: (value) => {
      next = next === 0x7fff ? 1 : next + 1;
      map.set(next, value);
      return next;
    },
    take: (id) => {
      const value = map.get(id);
      map.delete(id);
      return value;
    },
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const table: Table = process.argv[2] === 'map' ? mapTable() : new PacketIdSlots<object>(1, 0x7fff);
const majors: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(entry.startTime);
});
observer.observe({ entryTypes: ['gc'] });

const inFlight: number[] = [];
let head = 0;
let sink = 0;
function churn(count: number): void {
  for (let i = 0; i < count; i++) {
    // About what a QoS 1 message keeps while in flight: a few small objects and a buffer view.
    inFlight.push(table.add({ message: { topic: `t/${i & 15}`, payload: new Uint8Array(8), qos: 1 }, seq: i, ids: [i] }));
    if (inFlight.length - head > 256) sink += (table.take(inFlight[head++]!) as { seq: number }).seq;
    if (head > 4096) {
      inFlight.splice(0, head);
      head = 0;
    }
  }
}

churn(1_000_000);
gc();
const forcedAt = performance.now();
churn(3_000_000);
setTimeout(() => {
  observer.disconnect();
  const heap = process.memoryUsage().heapUsed;
  process.stdout.write(JSON.stringify({ majorAfter: majors.filter((t) => t > forcedAt).length, heapUsedMiB: Math.round(heap / 2 ** 20), sink: sink > 0 }));
}, 200);
