/**
 * kill -9 at the store's own interface (real RocksDB, real shard workers, a real process): a
 * publisher sends numbered messages from several sources while the process is killed several
 * times mid-load. After every restart, every message whose submit had resolved (what the hub
 * acknowledges to its sender) is delivered, in order per source; duplicates appear only where
 * at-least-once allows (replays of unacknowledged deliveries and of unacknowledged publishes).
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/outpost-process.js';
import type { FromChild, ToChild } from './crash-child.js';
import { DeliveryLedger } from './delivery-ledger.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const SOURCES = ['dev-a', 'dev-b', 'm-sensor', 'm-camera', 'dev-c'];
const KILLS = 5;
/**
 * The last wait fails when this long passes without one more acknowledged message delivered (a
 * stall; duplicates do not count), not after a fixed total: under load the drain is slower, not stuck.
 */
const STALL_MS = 30_000;

class Harness {
  readonly ledger = new DeliveryLedger(SOURCES);
  readonly acked = this.ledger.acked;
  /** Highest number each source has been asked to publish (exclusive). */
  readonly published = new Map<string, number>(SOURCES.map((s) => [s, 0]));
  readonly delivered = this.ledger.delivered;
  generation = 0;
  /** Delivery items the current generation's child sent us (beside the child's own counts in a failure report). */
  received = 0;
  private child: ChildProcess | undefined;
  private listeners = new Set<() => void>();
  private stateWaiter: ((state: Extract<FromChild, { kind: 'state' }>) => void) | undefined;

  async start(dir: string): Promise<number> {
    this.generation++;
    this.received = 0;
    const generation = this.generation;
    const child = fork(CHILD, [dir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    const ready = new Promise<number>((resolve, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`child exited early (${code ?? signal})`)));
      child.on('message', (m: FromChild) => {
        if (m.kind === 'ready') resolve(m.queued);
        else if (m.kind === 'acked') for (const n of m.numbers) this.ledger.ack(m.source, n);
        else if (m.kind === 'delivered') {
          if (generation === this.generation) this.received += m.items.length;
          for (const [, source, n] of m.items) this.ledger.deliver(source, n, this.generation);
          // Acknowledge only what is recorded: a real module acks after processing.
          this.send({ kind: 'settle', ids: m.items.map(([id]) => id) });
        } else if (m.kind === 'state') this.stateWaiter?.(m);
        for (const wake of this.listeners) wake();
      });
    });
    return ready;
  }

  send(command: ToChild): void {
    if (this.child?.connected === true) this.child.send(command);
  }

  /** Publishes `count` more per source; after a restart, unacknowledged ones are published again (at least once). */
  publishMore(count: number): void {
    for (const source of SOURCES) {
      const acked = this.acked.get(source)!;
      let from = 0;
      while (acked.has(from)) from++;
      const to = this.published.get(source)! + count;
      this.published.set(source, to);
      this.send({ kind: 'publish', source, from, count: to - from });
    }
  }

  deliveryCount(): number {
    return this.ledger.deliveryCount;
  }

  ackedTotal(): number {
    return this.ledger.ackedTotal;
  }

  /**
   * Waits for `predicate`, re-checked after every message from the child. Fails after `timeoutMs`,
   * or with `progress`, after `timeoutMs` during which `progress()` did not change.
   */
  async until(predicate: () => boolean, timeoutMs: number, what: string, progress?: () => number): Promise<void> {
    let deadline = Date.now() + timeoutMs;
    let last = progress?.();
    while (!predicate()) {
      const now = progress?.();
      if (now !== last) {
        last = now;
        deadline = Date.now() + timeoutMs;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${progress === undefined ? '' : ` (no progress for ${timeoutMs} ms)`}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.listeners.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.listeners.clear();
    }
  }

  async kill(): Promise<void> {
    const child = this.child!;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    const child = this.child!;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.send({ kind: 'close' });
    await exited;
  }

  allAckedDelivered(): boolean {
    return this.ledger.allAckedDelivered();
  }

  /** The child's store delivery state and delivery traffic, or why it did not answer. */
  async childState(): Promise<unknown> {
    const answer = new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve('the child did not answer within 10 s'), 10_000);
      this.stateWaiter = (state) => {
        clearTimeout(timer);
        resolve(state);
      };
    });
    this.send({ kind: 'diagnose' });
    return answer.finally(() => (this.stateWaiter = undefined));
  }

  /**
   * Which sources stopped where (acknowledged, not delivered), the store's delivery state (every
   * endpoint's window and streams) and both sides' delivery traffic: enough to tell a stuck
   * stream, a full window waiting for settlements, and a message lost between the processes apart.
   */
  async report(): Promise<string> {
    const report = { generation: this.generation, undelivered: this.ledger.shortfall(), deliveryItemsReceived: this.received, child: await this.childState() };
    return JSON.stringify(report, null, 1);
  }
}

describe('store crash test (kill -9 at the store interface)', () => {
  const dir = tempDir('outpost-crash-');
  after(() => dir.remove());

  it(`loses no acknowledged message and keeps per-source order across ${KILLS} kills`, async (t) => {
    const harness = new Harness();
    for (let round = 0; round < KILLS; round++) {
      await harness.start(dir.path);
      harness.publishMore(3000);
      // Kill mid-load: once this round has had acknowledgements both ways, with more in flight.
      const target = harness.ackedTotal() + 2000 + round * 700;
      const deliveries = harness.deliveryCount() + 1000 + round * 300;
      await harness.until(() => harness.ackedTotal() >= target && harness.deliveryCount() >= deliveries, 60_000, `round ${round} acknowledgements and deliveries`);
      await harness.kill();
    }
    await harness.start(dir.path);
    harness.publishMore(200);
    await harness.until(() => SOURCES.every((s) => harness.acked.get(s)!.size >= harness.published.get(s)!), 60_000, 'the last publishes');
    try {
      await harness.until(() => harness.allAckedDelivered(), STALL_MS, 'every acknowledged message to be delivered', () => harness.ledger.undelivered);
    } catch (error) {
      const report = await harness.report();
      await harness.kill();
      throw new Error(`${String(error)}\n${report}`, { cause: error });
    }
    await harness.close();

    let duplicates = 0;
    for (const source of SOURCES) {
      const deliveries = harness.delivered.get(source)!;
      const acked = harness.acked.get(source)!;
      const seen = new Set<number>();
      let last = -1;
      for (const { n } of deliveries) {
        assert.ok(n < harness.published.get(source)!, `${source}: ${n} was never published`);
        if (seen.has(n)) {
          duplicates++;
          continue;
        }
        assert.ok(n > last, `${source}: ${n} delivered first after ${last} (out of order)`);
        seen.add(n);
        last = n;
      }
      for (const n of acked) assert.ok(seen.has(n), `${source}: acknowledged ${n} was lost`);
      assert.equal(acked.size, harness.published.get(source)!, `${source}: every number was acknowledged in the end`);
    }
    const total = [...harness.delivered.values()].reduce((n, d) => n + d.length, 0);
    t.diagnostic(`${harness.ackedTotal()} messages acknowledged, ${total} deliveries, ${duplicates} duplicates`);
    assert.ok(duplicates < total / 2, `duplicates ${duplicates} of ${total} deliveries`);
  });
});
