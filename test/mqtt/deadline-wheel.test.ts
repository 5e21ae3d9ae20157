/**
 * DeadlineWheel (src/hub/transport/mqtt/deadline-wheel.ts): every MQTT connection's CONNECT or
 * keep-alive deadline on one timer. Members come due at or after their deadline and at most a
 * tick late, far deadlines come round the ring and are placed again, a member moved or removed
 * is not called, and the timer stops when the wheel is empty. A real interval timer with a 20 ms
 * tick.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineWheel, type WheelMember } from '../../src/hub/transport/mqtt/deadline-wheel.js';

const TICK_MS = 20;

class Member implements WheelMember {
  wheelSlot = -1;
  readonly calls: number[] = [];
  constructor(
    public deadlineMs: number,
    private readonly again?: (nowMs: number) => number | undefined,
  ) {}
  due(nowMs: number): number | undefined {
    this.calls.push(nowMs);
    if (nowMs < this.deadlineMs) return this.deadlineMs;
    return this.again?.(nowMs);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done` holds (checked every 10 ms), at most `timeoutMs`: a loaded machine delays timers. */
async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('DeadlineWheel', () => {
  it('calls each member at or after its deadline, within about a tick, and stops when empty', async () => {
    const wheel = new DeadlineWheel(TICK_MS);
    const start = Date.now();
    const members = [50, 120, 200].map((afterMs) => new Member(start + afterMs));
    for (const member of members) wheel.set(member, member.deadlineMs);
    assert.equal(wheel.size, 3);
    await until(() => wheel.size === 0, 5_000, 'every member due');
    for (const member of members) {
      const due = member.calls.filter((at) => at >= member.deadlineMs);
      assert.equal(due.length, 1, `called once at its deadline (${JSON.stringify(member.calls)})`);
      // A tick or two late on a quiet machine; the bound leaves room for a loaded one.
      assert.ok(due[0]! - member.deadlineMs < 500, `late by ${due[0]! - member.deadlineMs} ms`);
      assert.ok(member.calls.every((at) => at >= member.deadlineMs), 'never before its deadline within the ring');
    }
    wheel.close();
  });

  it('places a deadline beyond the ring in its last slot and again when it comes round', async () => {
    const wheel = new DeadlineWheel(TICK_MS);
    // 64 slots of 20 ms: 1.28 s of ring; this one is 1.8 s away.
    const far = new Member(Date.now() + 1_800);
    wheel.set(far, far.deadlineMs);
    await until(() => wheel.size === 0, 8_000, 'the far member due');
    assert.ok(far.calls.length >= 2, `came round first (${far.calls.length} calls)`);
    assert.ok(far.calls.some((at) => at >= far.deadlineMs), 'and was due at its deadline');
    assert.equal(wheel.size, 0);
    wheel.close();
  });

  it('keeps a member that answers a next deadline, and does not call one moved later or removed', async () => {
    const wheel = new DeadlineWheel(TICK_MS);
    let repeats = 0;
    const repeating: Member = new Member(Date.now() + 40, (nowMs) => (++repeats < 3 ? (repeating.deadlineMs = nowMs + 40) : undefined));
    const moved = new Member(Date.now() + 40);
    const removed = new Member(Date.now() + 40);
    for (const member of [repeating, moved, removed]) wheel.set(member, member.deadlineMs);
    moved.deadlineMs = Date.now() + 600;
    wheel.set(moved, moved.deadlineMs);
    wheel.delete(removed);
    await until(() => repeats === 3, 5_000, 'three times due');
    assert.ok(moved.calls.every((at) => at >= moved.deadlineMs), 'never before its new deadline');
    assert.deepEqual(removed.calls, []);
    assert.equal(removed.wheelSlot, -1);
    await until(() => wheel.size === 0, 5_000, 'the moved member due');
    assert.equal(moved.calls.filter((at) => at >= moved.deadlineMs).length, 1);
    assert.deepEqual(removed.calls, []);
    wheel.close();
  });
});
