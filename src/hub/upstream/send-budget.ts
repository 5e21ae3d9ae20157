import type { Sender } from 'rhea';

/**
 * How many transfers a rhea sender may still send without going past the parent's credit. rhea's
 * `sender.send` does not check credit, and only counts it down when it writes the frames (on the
 * next tick), so within one tick `sender.credit` is stale: this counts what was sent since and
 * forgets it once rhea has written (a tick later), then calls `resume` to send more.
 */
export class SendBudget {
  private sentThisTick = 0;
  private resetScheduled = false;

  constructor(
    private readonly sender: Sender,
    private readonly resume: () => void,
  ) {}

  available(): number {
    if (!this.sender.is_open()) return 0;
    // rhea keeps the link credit in `credit` but its typings do not declare it.
    const credit = (this.sender as unknown as { credit: number }).credit;
    return Math.max(0, credit - this.sentThisTick);
  }

  /** Call once per `sender.send`. */
  used(): void {
    this.sentThisTick++;
    if (this.resetScheduled) return;
    this.resetScheduled = true;
    // Queued after rhea's own nextTick (registered by the send just made), so credit is counted down by then.
    process.nextTick(() => {
      this.resetScheduled = false;
      this.sentThisTick = 0;
      this.resume();
    });
  }
}
