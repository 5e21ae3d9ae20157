// micro-twin-reported — reported-property patches through the twin service, no broker (a 'local'
// scenario): TwinService.patchReported, which resolves once the patch is durable (in RocksDB's
// write-ahead log), the point at which the hub answers `$iothub/twin/res/204`.
//
// Measures patches/s, each a fixed-seed ~150-byte JSON patch (a status object, a counter, a
// reading) validated by IoT Hub's rules, merged and written with its new `$version`:
//   rocksdb          256 devices, one patch outstanding each (many devices at once: group commit; headline)
//   memory           the in-memory store (store.persistent false), 256 outstanding
//   rocksdb-serial   one device, one patch at a time, awaited (a device waiting for each answer)
// No routing sink: twin change notifications are the message store's cost (micro-store-append).
// Metrics: rocksdbVsMemory, serialMicros (µs per awaited patch). Not in the gate.
// Run: npm run bench -- micro-twin-reported [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTwinStore, RocksTwinStore, TwinService, type TwinProperties } from '../../src/hub/twin/index.js';
import { createLogger } from '../../src/log/index.js';
import { mulberry32 } from '../loadgen/prng.js';
import { measureVariants, microOutcome, microTiming, type VariantSpec } from '../lib/micro.js';
import type { LocalScenario } from './scenario.js';

const DEVICES = 256;
const SERIAL = 32;

function makePatches(seed: number): TwinProperties[] {
  const next = mulberry32(seed);
  return Array.from({ length: DEVICES }, (_, i) => ({
    status: { state: next() < 0.9 ? 'running' : 'degraded', uptimeSec: Math.floor(next() * 1e6) },
    counter: i,
    reading: { temperature: Math.round(next() * 1000) / 10, humidity: Math.round(next() * 100) },
    firmware: `1.${Math.floor(next() * 20)}.${Math.floor(next() * 100)}`,
  }));
}

export const microTwinReported: LocalScenario = {
  kind: 'local',
  name: 'micro-twin-reported',
  description: 'TwinService.patchReported, durable before it resolves (RocksDB 256 devices at once, memory, RocksDB serial): patches/s',
  async run(runOptions) {
    const patches = makePatches(runOptions.seed);
    const root = mkdtempSync(join(tmpdir(), 'outpost-bench-twin-'));
    const logger = createLogger({ level: 'silent' });
    const services: TwinService[] = [];
    const open = async (store: RocksTwinStore | MemoryTwinStore): Promise<TwinService> => {
      await store.open();
      const service = new TwinService({ store, logger, hubName: 'bench' });
      services.push(service);
      return service;
    };
    try {
      const concurrent = (name: string, what: string, twins: TwinService): VariantSpec => ({
        name,
        what,
        unit: 'patches',
        pass: async () => {
          const results = await Promise.all(patches.map((patch, i) => twins.patchReported(`dev-${i}`, patch)));
          if (results.some((r) => !r.ok)) throw new Error('a bench patch was refused');
          return results.length;
        },
      });
      const rocks = await open(new RocksTwinStore(join(root, 'rocksdb'), logger));
      const variants: VariantSpec[] = [
        concurrent('rocksdb', `RocksDB, ${DEVICES} devices, one patch outstanding each`, rocks),
        concurrent('memory', `in-memory store, ${DEVICES} outstanding`, await open(new MemoryTwinStore())),
        {
          name: 'rocksdb-serial',
          what: 'RocksDB, one device, one patch at a time, awaited',
          unit: 'patches',
          pass: async () => {
            for (let i = 0; i < SERIAL; i++) await rocks.patchReported('serial-device', patches[i]!);
            return SERIAL;
          },
        },
      ];
      const timing = microTiming(runOptions);
      const measured = await measureVariants(variants, timing, 'rocksdb');
      const serial = measured.find((v) => v.name === 'rocksdb-serial');
      return microOutcome({
        params: { devices: DEVICES, seed: runOptions.seed },
        variants: measured,
        headline: 'rocksdb',
        timing,
        metrics: { serialMicros: serial === undefined ? null : 1e6 / serial.value },
        ratios: [['rocksdbVsMemory', 'rocksdb', 'memory']],
      });
    } finally {
      for (const service of services) await service.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
