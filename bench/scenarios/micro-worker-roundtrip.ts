// micro-worker-roundtrip — a batch to a shard worker thread and back, no broker (a 'local'
// scenario): the main thread ⇄ Piscina hop every routed message makes (DESIGN.md: "about 35 µs
// per task, so always send batches").
//
// Measures messages/s through one Piscina instance with one thread (a shard): the main thread
// packs a batch of fixed-seed telemetry messages with msgpackr (as the store does: useRecords
// false), copies it into its own ArrayBuffer and transfers it; the worker (bench/micro/
// roundtrip-worker.ts) unpacks it and answers one int32 per message, transferred back.
//   batch-1, batch-16, batch-256   one task in flight, awaited before the next
//   batch-256-x2                   two tasks in flight, as the store's ShardClient keeps them
// The headline is batch-256-x2; metrics roundTripMicros (batch-1: µs per task, the fixed cost)
// and batch256VsBatch1 (what batching buys).
// Run: npm run bench -- micro-worker-roundtrip [--quick]
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { Piscina } from 'piscina';
import { mulberry32, seededBytes } from '../loadgen/prng.js';
import { consume, measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import type { LocalScenario } from './scenario.js';

const WORKER = fileURLToPath(new URL('../micro/roundtrip-worker.js', import.meta.url));
const MESSAGES = 4_096;

type Packed = [string, Uint8Array, (string | null)[], (string | null)[], number];

function makeMessages(seed: number): Packed[] {
  const next = mulberry32(seed);
  return Array.from({ length: MESSAGES }, (_, i) => [
    i % 4 === 0 ? '/messages/modules/filter/outputs/out1/' : '/messages/',
    seededBytes(seed + i, 200),
    ['level', next() < 0.5 ? 'hot' : 'cold', 'site', 'plant-7'],
    ['connectionDeviceId', `dev-${Math.floor(next() * 200)}`, 'messageId', `msg-${i}`, 'contentType', 'application/json'],
    1_700_000_000_000 + i,
  ]);
}

export const microWorkerRoundtrip: LocalScenario = {
  kind: 'local',
  name: 'micro-worker-roundtrip',
  description: 'batches of msgpackr messages to a 1-thread Piscina pool and back, transferred: messages/s',
  async run(options) {
    const messages = makeMessages(options.seed);
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const pool = new Piscina({ filename: WORKER, minThreads: 1, maxThreads: 1, idleTimeout: 60_000 });
    const send = async (from: number, size: number): Promise<number> => {
      const packed = packr.pack(messages.slice(from, from + size));
      // packr reuses its buffer: transfer a copy in an ArrayBuffer of its own, as the store does.
      const batch = new Uint8Array(packed.length);
      batch.set(packed);
      const offsets = (await pool.run({ batch }, { transferList: [batch.buffer] })) as Int32Array;
      consume(offsets[0]!);
      return offsets.length;
    };
    const sequential = (size: number): VariantSpec => ({
      name: `batch-${size}`,
      what: `${size} message${size === 1 ? '' : 's'} per task, one task in flight`,
      unit: 'messages',
      pass: async () => {
        let done = 0;
        for (let from = 0; from + size <= 1_024; from += size) done += await send(from, size);
        return done;
      },
    });
    const variants: VariantSpec[] = [
      sequential(1),
      sequential(16),
      sequential(256),
      {
        name: 'batch-256-x2',
        what: '256 messages per task, two tasks in flight',
        unit: 'messages',
        pass: async () => {
          // Two chains of four tasks each: always two in flight.
          const chain = async (k: number): Promise<number> => {
            let done = 0;
            for (let j = 0; j < 4; j++) done += await send((k * 4 + j) * 256, 256);
            return done;
          };
          const [a, b] = await Promise.all([chain(0), chain(1)]);
          return a + b;
        },
      },
    ];
    try {
      if ((await send(0, 16)) !== 16) throw new Error('the worker answered the wrong count');
      const timing = microTiming(options);
      const measured = await measureVariants(variants, timing, 'batch-1');
      const perTask = measured.find((v) => v.name === 'batch-1');
      return microOutcome({
        params: { messages: MESSAGES, bodyBytes: 200, threads: 1, seed: options.seed },
        variants: measured,
        headline: 'batch-256-x2',
        timing,
        metrics: { roundTripMicros: perTask === undefined ? null : 1e6 / perTask.value },
        ratios: [['batch256VsBatch1', 'batch-256', 'batch-1']],
      });
    } finally {
      await pool.destroy();
    }
  },
};
