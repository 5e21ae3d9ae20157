// releaseIdleMemory (native/memory_release.cc) gives back the young generation V8 keeps at its
// largest after an allocation burst, and IdleMemoryRelease calls it at start-up and after a busy
// spell once idle, never twice in a row on an idle thread (docs/benchmarks.md, "Where the idle
// memory goes").
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { IdleMemoryRelease } from '../../src/hub/idle-memory-release.js';
import { createLogger } from '../../src/log/index.js';
import { until } from '../helpers/eventually.js';
import { selected } from './implementations.js';

const MIB = 1024 * 1024;

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_size;
}

/** Short-lived objects in bulk: V8 grows the semi-spaces towards their maximum (16 MiB by default). */
function allocationBurst(): void {
  let keep: { a: number; b: string }[] = [];
  for (let i = 0; i < 3_000_000; i += 1) {
    keep.push({ a: i, b: `x${i}` });
    if (keep.length > 200_000) keep = [];
  }
}

describe('idle memory release', () => {
  it('the addon exports releaseIdleMemory, the TypeScript fallback has none', () => {
    if (selected.implementation === 'native') assert.equal(typeof selected.releaseIdleMemory, 'function');
    else assert.equal(selected.releaseIdleMemory, undefined);
  });

  it('shrinks the young generation grown by an allocation burst (with the addon)', () => {
    // Without the addon (OUTPOST_NATIVE=off or not built) there is nothing to release with; the
    // first test checks that, and OUTPOST_NATIVE=require fails the file instead.
    if (selected.implementation !== 'native') return;
    assert.equal(typeof selected.releaseIdleMemory, 'function', 'the addon exports releaseIdleMemory');
    allocationBurst();
    const before = newSpaceBytes();
    assert.ok(before > 4 * MIB, `the burst grew the new space (${before} B)`);
    // collect=false (the main thread's way): malloc's pages only, V8's heap left as it is.
    selected.releaseIdleMemory!(false);
    assert.ok(newSpaceBytes() > 4 * MIB, `collect=false left the new space (${newSpaceBytes()} B)`);
    selected.releaseIdleMemory!(true);
    const after = newSpaceBytes();
    assert.ok(after <= 2 * MIB, `new space ${after} B after the release (${before} B before)`);
  });

  it('releases at start-up, again after a busy spell once idle, and not on every idle interval', async () => {
    let releases = 0;
    const release = new IdleMemoryRelease({
      release: (collect) => {
        assert.equal(collect, true, 'collects at start-up and after busy spells by default');
        releases += 1;
        return selected.releaseIdleMemory?.(false) ?? false;
      },
      logger: createLogger({ level: 'silent' }),
      // Short intervals for the test: a test process's idle loop is at a few % over 250 ms.
      intervalMs: 250,
      idleUtilization: 0.15,
    });
    release.start();
    try {
      assert.equal(releases, 1, 'released once at start');
      // Idle intervals after the start-up release: nothing more.
      await until(() => release.checked >= 4, 20_000, 'three idle checks');
      assert.equal(releases, 1, 'no release on idle intervals without work between');
      // Busy: the event loop blocked about 60 % of the time (far above the 2 % threshold).
      const busy = setInterval(() => {
        const end = Date.now() + 60;
        while (Date.now() < end) allocationBurstStep();
      }, 40);
      const busyFrom = release.checked;
      await until(() => release.checked >= busyFrom + 2, 20_000, 'two busy checks');
      clearInterval(busy);
      assert.equal(releases, 1, 'no release while busy');
      await until(() => releases === 2, 20_000, 'the release once idle again');
      const idleFrom = release.checked;
      await until(() => release.checked >= idleFrom + 4, 20_000, 'three more idle checks');
      assert.equal(releases, 2, 'one release per busy spell');
    } finally {
      release.stop();
    }
  });
});

describe('the release log line', () => {
  it("says what malloc holds after the trim, when the addon reads it (mallinfo2)", () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
        done();
      },
    });
    const stats = selected.mallocStats;
    const release = new IdleMemoryRelease({
      release: () => selected.releaseIdleMemory?.(false) ?? false,
      logger: createLogger({ level: 'debug', destination }),
      ...(stats === undefined ? {} : { mallocStats: stats }),
      intervalMs: 60_000,
    });
    release.start();
    release.stop();
    const line = lines.find((l) => l.event === 'memory.released');
    assert.ok(line !== undefined, JSON.stringify(lines));
    assert.equal(line.reason, 'startup');
    if (stats === undefined) {
      assert.equal(line.mallocArenaMb, undefined, 'no addon: no malloc figures');
      return;
    }
    const arena = line.mallocArenaMb as number;
    assert.ok(arena > 0 && (line.mallocFreeMb as number) <= arena, JSON.stringify(line));
    assert.equal(typeof line.mallocMappedMb, 'number');
  });
});

describe('idle memory release without a collection at start-up (the main thread)', () => {
  it('trims at start-up, collects at the first idle interval, then only after busy spells', async () => {
    const calls: boolean[] = [];
    const release = new IdleMemoryRelease({
      release: (collect) => {
        calls.push(collect);
        return selected.releaseIdleMemory?.(false) ?? false;
      },
      collectAtStartup: false,
      logger: createLogger({ level: 'silent' }),
      intervalMs: 250,
      idleUtilization: 0.15,
    });
    release.start();
    try {
      assert.deepEqual(calls, [false], 'malloc only at start');
      await until(() => calls.length === 2, 20_000, 'the first idle interval');
      assert.deepEqual(calls, [false, true], 'start-up counts as a busy spell: the first idle interval collects');
      const idleFrom = release.checked;
      await until(() => release.checked >= idleFrom + 4, 20_000, 'more idle checks');
      assert.deepEqual(calls, [false, true], 'no more without work between');
    } finally {
      release.stop();
    }
  });
});

let sink: object[] = [];
function allocationBurstStep(): void {
  sink.push({ at: Date.now() });
  if (sink.length > 10_000) sink = [];
}
