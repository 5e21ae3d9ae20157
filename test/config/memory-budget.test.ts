import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadConfig, mainHeapFlags, memoryFloor, planMemory, type ConfigProblem, type MemoryPlan } from '../../src/config/index.js';
import { OutpostError } from '../../src/errors/index.js';
import { ADDON_PATH } from '../../src/native/index.js';
import { startHub, stopGracefully, testScope, type OutpostProcess } from '../helpers/outpost-process.js';

const MIB = 1024 * 1024;
const scope = testScope('outpost-memory-budget-', after);

function configWith(env: Record<string, string>, flags: { flag: string; path: string; text: string }[] = []) {
  return loadConfig({ env, flags, cwd: scope.newDir(), hostname: 'gw1' }).config;
}

/** What the plan lets grow, summed: every heap limit, every write buffer, the broker's queues. */
function plannedTotal(plan: MemoryPlan): number {
  const worker = (plan.shardWorker.maxOldGenerationSizeMb + plan.shardWorker.maxYoungGenerationSizeMb) * MIB;
  const buffers = 2 * (plan.shards * plan.writeBufferBytes.shard + plan.writeBufferBytes.broker + plan.writeBufferBytes.twin + plan.writeBufferBytes.c2d);
  return plan.mainHeap.maxOldSpaceMb * MIB + 3 * plan.mainHeap.maxSemiSpaceMb * MIB + plan.shards * worker + buffers + plan.queuedBytesTotal;
}

describe('memoryBudget', () => {
  it('is set by OUTPOST_MEMORY_BUDGET, the Azure-style MemoryBudgetMB (whole MiB) and --memory-budget', () => {
    assert.equal(configWith({}).memoryBudget, 256 * MIB);
    assert.equal(configWith({ OUTPOST_MEMORY_BUDGET: '128MiB' }).memoryBudget, 128 * MIB);
    assert.equal(configWith({ MemoryBudgetMB: '96' }).memoryBudget, 96 * MIB);
    assert.equal(configWith({}, [{ flag: '--memory-budget', path: 'memoryBudget', text: '1GiB' }]).memoryBudget, 1024 * MIB);
  });

  it('refuses a budget below what the configuration runs with, naming the setting and the least budget', () => {
    let problems: ConfigProblem[] = [];
    try {
      configWith({ OUTPOST_MEMORY_BUDGET: '40MiB', OUTPOST_STORE__SHARDS: '2' });
      assert.fail('a 40 MiB budget with two shards loaded');
    } catch (error) {
      assert.ok(error instanceof OutpostError);
      assert.equal(error.code, 'OUTPOST_CONFIG_INVALID');
      problems = error.details?.problems as ConfigProblem[];
    }
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, 'memoryBudget');
    assert.equal(problems[0]!.origin, 'OUTPOST_MEMORY_BUDGET');
    assert.match(problems[0]!.message, /40MiB is below the 77MiB this configuration runs with/);
    // One shard needs less: 64 MiB loads with one, not with two.
    assert.equal(configWith({ OUTPOST_MEMORY_BUDGET: '64MiB', OUTPOST_STORE__SHARDS: '1' }).memoryBudget, 64 * MIB);
    assert.throws(() => configWith({ OUTPOST_MEMORY_BUDGET: '64MiB', OUTPOST_STORE__SHARDS: '2' }), /below the 77MiB/);
  });

  it('splits every budget so that all it bounds together stays within it', () => {
    for (const shards of [1, 2, 4]) {
      for (const budgetMb of [Math.ceil(memoryFloor(shards, true) / MIB), 64, 128, 256, 1024, 4096]) {
        if (budgetMb * MIB < memoryFloor(shards, true)) continue;
        const config = configWith({ OUTPOST_MEMORY_BUDGET: `${budgetMb}MiB`, OUTPOST_STORE__SHARDS: String(shards), OUTPOST_MQTT__MAX_QUEUED_BYTES_TOTAL: '64GiB', OUTPOST_STORE__MEMTABLE_SIZE: '1GiB' });
        const plan = planMemory(config);
        assert.equal(plan.shards, shards);
        // The semi-spaces come on top of the old space in V8; a 2 MiB rounding slack per heap.
        assert.ok(plannedTotal(plan) <= budgetMb * MIB + (shards + 1) * 2 * MIB, `${budgetMb} MiB, ${shards} shards: ${plannedTotal(plan) / MIB} MiB planned`);
      }
    }
  });

  it('grows every part with the budget', () => {
    const small = planMemory(configWith({ OUTPOST_MEMORY_BUDGET: '80MiB', OUTPOST_STORE__SHARDS: '2' }));
    const large = planMemory(configWith({ OUTPOST_MEMORY_BUDGET: '2GiB', OUTPOST_STORE__SHARDS: '2' }));
    assert.ok(small.writeBufferBytes.shard < large.writeBufferBytes.shard);
    assert.ok(small.queuedBytesTotal < large.queuedBytesTotal);
    assert.ok(small.shardWorker.maxOldGenerationSizeMb < large.shardWorker.maxOldGenerationSizeMb);
    assert.ok(small.mainHeap.maxOldSpaceMb < large.mainHeap.maxOldSpaceMb);
    assert.ok(small.connectionBufferBytes < large.connectionBufferBytes);
  });

  it('keeps each part\'s own setting as its upper bound', () => {
    const plan = planMemory(configWith({ OUTPOST_MEMORY_BUDGET: '4GiB', OUTPOST_STORE__MEMTABLE_SIZE: '2MiB', OUTPOST_MQTT__MAX_QUEUED_BYTES_TOTAL: '3MiB', OUTPOST_MQTT__MAX_QUEUED_BYTES: '1MiB', OUTPOST_MQTT__MAX_CONNECTION_BUFFER: '128KiB' }));
    assert.equal(plan.writeBufferBytes.shard, 2 * MIB);
    assert.equal(plan.writeBufferBytes.broker, 2 * MIB);
    assert.equal(plan.queuedBytesTotal, 3 * MIB);
    assert.equal(plan.queuedBytesPerSession, 1 * MIB);
    assert.equal(plan.connectionBufferBytes, 128 * 1024);
  });

  it('bounds a store kept in memory by the budget (its queues live in the shard workers)', () => {
    const plan = planMemory(configWith({ OUTPOST_MEMORY_BUDGET: '128MiB', OUTPOST_STORE__PERSISTENT: 'false' }));
    assert.ok(plan.memoryStoreBytes !== undefined && plan.memoryStoreBytes < 128 * MIB);
  });

  it('a hub applies it: its shard workers start with the planned heap limit, and it logs the plan', async () => {
    let hub: OutpostProcess | undefined;
    try {
      const started = await startHub({ dataDir: scope.newDir(), args: ['--memory-budget', '96MiB', '--set', 'store.shards=2', '--set', 'store.shardIdleStop=0s'], timeoutMs: 60_000 });
      hub = started.outpost;
      const plan = await hub.waitFor((line) => line.event === 'memory.plan');
      // Shards started with the hub (store.shardIdleStop=0s): by default a new store's start with their first message.
      const opened = await hub.waitFor((line) => line.event === 'store.opened');
      assert.equal(plan['budgetMb'], 96);
      const worker = plan['shardWorker'] as { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
      // Node's default for a worker on this machine is in the gigabytes; the plan's is a few tens of MiB.
      const limit = opened['workerHeapLimitMb'] as number;
      assert.ok(limit >= worker.maxOldGenerationSizeMb && limit <= worker.maxOldGenerationSizeMb + worker.maxYoungGenerationSizeMb + 8, `worker heap limit ${limit} MiB, planned ${JSON.stringify(worker)}`);
      assert.match(String(plan['mainHeapFlags']), /^--max-old-space-size=\d+ --max-semi-space-size=1$/);
      // The semi-space part is applied while running (node got no --max-semi-space-size here).
      assert.equal(plan['mainSemiSpaceMb'], 1);
      assert.equal(plan['mainYoungGeneration'], 'capped at run time, past 2 MiB for messages');
      // No --max-old-space-size: the old space's growth between full collections is held instead.
      assert.equal(plan['mainHeapBounded'], false);
      assert.equal(plan['mainHeapGrowth'], '50% at run time, 200% while full collections come often');
      // glibc's thresholds, held by the addon (the hub loads it when built, as npm ci does).
      assert.equal(plan['mallocThresholds'], existsSync(ADDON_PATH) ? 'held (mmap threshold 131072 bytes)' : "glibc's adjustment (no native addon, or not glibc)");
    } finally {
      await stopGracefully(hub);
    }
  });

  it("leaves the old space's growth to V8 once the operator bounds the main heap as memory.plan says (NODE_OPTIONS)", async () => {
    let hub: OutpostProcess | undefined;
    try {
      const plan96 = planMemory(configWith({ OUTPOST_MEMORY_BUDGET: '96MiB' }));
      const started = await startHub({ dataDir: scope.newDir(), args: ['--memory-budget', '96MiB'], env: { NODE_OPTIONS: mainHeapFlags(plan96) }, timeoutMs: 60_000 });
      hub = started.outpost;
      const plan = await hub.waitFor((line) => line.event === 'memory.plan');
      assert.equal(plan['mainHeapBounded'], true, JSON.stringify(plan));
      assert.equal(plan['mainHeapGrowth'], "V8's, for the bounded heap");
    } finally {
      await stopGracefully(hub);
    }
  });

  it("leaves the main thread's young generation to an operator's own --max-semi-space-size in NODE_OPTIONS, its old space's growth to its own --heap-growing-percent (node's command line), and malloc's thresholds to its own MALLOC_TRIM_THRESHOLD_", async () => {
    let hub: OutpostProcess | undefined;
    try {
      const started = await startHub({ dataDir: scope.newDir(), env: { NODE_OPTIONS: '--max-semi-space-size=4', MALLOC_TRIM_THRESHOLD_: '1048576' }, nodeArgs: ['--heap-growing-percent=80'], timeoutMs: 60_000 });
      hub = started.outpost;
      const plan = await hub.waitFor((line) => line.event === 'memory.plan');
      assert.equal(plan['mainYoungGeneration'], 'node flag');
      assert.equal(plan['mainHeapGrowth'], 'node flag');
      // And glibc's thresholds to the operator's own malloc variables.
      assert.equal(plan['mallocThresholds'], 'set by the operator (MALLOC_TRIM_THRESHOLD_)');
      // The default budget's plan, logged all the same.
      assert.equal(plan['mainSemiSpaceMb'], 8);
    } finally {
      await stopGracefully(hub);
    }
  });
});
