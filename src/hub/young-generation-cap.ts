import { performance, PerformanceObserver } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

const MIB = 1024 * 1024;
/** V8's own growth factor (its flag's default), set back when the cap stops. */
const V8_GROWTH_FACTOR = 2;
/** How long after a worker thread starts the factor is set after every collection. */
const REASSERT_MS = 2_000;
/**
 * Messages handled between two collections for the young generation to grow (countMessagesWith).
 * At the 1 MiB start, a collection comes every 250-350 routed messages (MQTT 2.85 KB, AMQP 4.2 KB
 * of garbage each) and every few thousand broker messages; a connection storm brings none.
 */
export const MESSAGES_TO_GROW = 32;

/**
 * The semi-space the young generation grows to under any load, messages or not. Held at V8's 1 MiB
 * start, the authenticated storm (mqtt-auth-storm) made 1,370 scavenges against 224 at 8 MiB and
 * paid about 11 % more CPU per SAS connection; at 2 MiB it made 616-688, and its CPU per
 * connection was within its runs' noise of 8 MiB's (docs/benchmarks.md, "The young generation in
 * a connection storm").
 */
export const UNGATED_SEMI_SPACE_BYTES = 2 * MIB;

/**
 * The growth factor after a collection: what brings the semi-space to where it may grow in one
 * step, or 1 (no growth) once it is there. It may grow to the target when at least
 * MESSAGES_TO_GROW messages came since the previous collection (or when messages are not counted,
 * `messages` undefined), and to UNGATED_SEMI_SPACE_BYTES (at most the target) otherwise.
 */
export function growthFactorAfter(semiBytes: number, targetBytes: number, messages: number | undefined): number {
  const gated = messages !== undefined && messages < MESSAGES_TO_GROW;
  const reach = gated ? Math.min(targetBytes, UNGATED_SEMI_SPACE_BYTES) : targetBytes;
  if (semiBytes >= reach) return 1;
  return Math.max(V8_GROWTH_FACTOR, Math.floor(reach / Math.max(MIB, semiBytes)));
}

/**
 * Holds the main thread's young generation at the memory plan's semi-space size, from inside the
 * running process (issue 20; docs/benchmarks.md, "Memory budget").
 *
 * V8 takes `--max-semi-space-size` only at start, from the node command line. What it reads on
 * every growth is `--semi-space-growth-factor`: a semi-space that grows becomes the factor times
 * its size (at most V8's maximum, 16 MiB). So after each collection the factor is set to what
 * brings the semi-space to the target in one step (1 MiB × 8 = 8 MiB), and to 1, no growth, once
 * it is there. A growth needs more bytes to survive scavenges than the semi-space holds, so two
 * growths between two observations would take a turn of the event loop that keeps megabytes alive:
 * none of the hub's does. V8 still shrinks the young generation when idle (and the idle release
 * does); the next collection lets it grow back to the target.
 *
 * The flag is the process's, so the shard workers' young generations do not grow while the main
 * thread's is at its target either: they stay within their `resourceLimits`, at their current size.
 *
 * With a message count (countMessagesWith), the young generation grows past 2 MiB
 * (UNGATED_SEMI_SPACE_BYTES) only for messages: its size is for messages in flight, which die
 * within a few scavenges of a large one and are promoted by a small one. A connection storm's
 * survivors are connection state that lives on whatever the size, so there a larger young
 * generation holds only more garbage: the 5,000-client storm peaked at 121-124 MiB against
 * 129-138 at 8 MiB, the SAS storm 136-149 against 147-162. Below 2 MiB the SAS storm paid about
 * 11 % more CPU per connection in scavenges (docs/benchmarks.md, "The young generation in a
 * connection storm").
 *
 * V8 sets the flag back to at least 2 whenever it makes an isolate (a worker thread starts). With
 * the addon, `hold` (NativeFunctions.holdSemiSpaceGrowthFactor) sets the factor again before every
 * collection of the main isolate, so no collection sees V8's value; without it, the factor is set
 * again when the worker comes online and after every collection for REASSERT_MS, which a
 * collection in between can still miss.
 */
export class YoungGenerationCap {
  private factor = 0;
  /** Messages handled so far (countMessagesWith), and the count at the last collection. */
  private messages: (() => number) | undefined;
  private messagesAtLast = 0;
  /** Until then (performance.now()), the factor is set after every collection, changed or not (workerStarted). */
  private reassertUntil = 0;
  private readonly observer: PerformanceObserver;

  constructor(
    private readonly semiSpaceBytes: number,
    private readonly hold?: (factor: number) => void,
  ) {
    this.observer = new PerformanceObserver(() => this.adjust());
    this.adjust();
    this.observer.observe({ entryTypes: ['gc'] });
    if (hold === undefined) process.on('worker', this.workerStarted);
  }

  /** The semi-space's size now, in whole MiB (V8 counts its usable area, a little less). */
  static semiSpaceBytes(): number {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (space === undefined) return 0;
    return Math.ceil((space.space_used_size + space.space_available_size) / MIB) * MIB;
  }

  /**
   * From now on the young generation grows past UNGATED_SEMI_SPACE_BYTES only after a collection
   * that MESSAGES_TO_GROW messages came before (`handled`: messages handled so far, monotonic). Called
   * again to replace the count (the hub counts nothing until its broker and store exist).
   */
  countMessagesWith(handled: () => number): void {
    this.messages = handled;
    this.messagesAtLast = handled();
    this.adjust();
  }

  private adjust(): void {
    const semi = YoungGenerationCap.semiSpaceBytes();
    let messages: number | undefined;
    if (this.messages !== undefined) {
      const handled = this.messages();
      messages = handled - this.messagesAtLast;
      this.messagesAtLast = handled;
    }
    const factor = growthFactorAfter(semi, this.semiSpaceBytes, messages);
    if (factor === this.factor && performance.now() > this.reassertUntil) return;
    this.factor = factor;
    if (this.hold !== undefined) this.hold(factor);
    else setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  }

  /**
   * V8 sets the factor back to its own whenever an isolate is made, that is whenever a worker
   * thread starts (a store shard on its first message, the route compiler for a deployment):
   * measured, the main thread's semi-space then grew to 16 MiB under load (17-22 MiB more peak
   * RSS on the routed path). So the factor is set again once the worker runs, and after every
   * collection for a while, in case one comes between the isolate's making and that.
   */
  private readonly workerStarted = (worker: Worker): void => {
    this.reassertUntil = performance.now() + REASSERT_MS;
    worker.once('online', () => this.adjust());
  };

  /** Stops observing and gives V8 its own growth back. */
  stop(): void {
    this.observer.disconnect();
    process.off('worker', this.workerStarted);
    this.hold?.(0);
    setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`);
  }
}

/** Whether node was started with its own `--max-semi-space-size` (command line or NODE_OPTIONS): the operator's bound stands then. */
export function semiSpaceSetOnCommandLine(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env['NODE_OPTIONS']): boolean {
  return nodeFlagSet('max-semi-space-size', execArgv, nodeOptions);
}

/** Whether node was started with V8 flag `name` (dashed, as `max-old-space-size`), on its command line or in NODE_OPTIONS, spelt with dashes or underscores. */
export function nodeFlagSet(name: string, execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env['NODE_OPTIONS']): boolean {
  const pattern = new RegExp(`^--${name.split('-').join('[-_]')}\\b`);
  const named = (arg: string) => pattern.test(arg);
  return execArgv.some(named) || (nodeOptions ?? '').split(/\s+/).some(named);
}
