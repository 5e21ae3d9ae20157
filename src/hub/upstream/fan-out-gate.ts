/** What the gate wakes: a channel that waited for a slot. */
export interface FanOutMember {
  /** A slot may be free: try to send again. */
  resume(): void;
}

/**
 * UpstreamFanOutFactor: at most `factor` identities have transfers in flight to the parent at
 * once (Azure's edge hub sends up to that many identity groups concurrently). An identity holds
 * its slot while it has unsettled transfers; when they are all settled it gives the slot up if
 * others wait (and queues again behind them if it has more), so no identity starves another.
 */
export class FanOutGate {
  private readonly active = new Set<FanOutMember>();
  private readonly waiting = new Set<FanOutMember>();

  constructor(private readonly factor: number) {}

  /** True when `member` may send now (it holds a slot); otherwise it waits and is resumed later. */
  enter(member: FanOutMember): boolean {
    if (this.active.has(member)) return true;
    if (this.active.size < this.factor && (this.waiting.size === 0 || this.waiting.has(member) && this.first() === member)) {
      this.waiting.delete(member);
      this.active.add(member);
      return true;
    }
    this.waiting.add(member);
    return false;
  }

  /** Its transfers are all settled: keep the slot only if nobody waits and it has more to send. */
  idle(member: FanOutMember, hasMore: boolean): void {
    if (!this.active.has(member)) return;
    if (hasMore && this.waiting.size === 0) return;
    this.active.delete(member);
    if (hasMore) this.waiting.add(member);
    this.wake();
  }

  /** The member is gone (closed, refused): frees its slot or its place in the queue. */
  leave(member: FanOutMember): void {
    this.waiting.delete(member);
    if (this.active.delete(member)) this.wake();
  }

  get activeCount(): number {
    return this.active.size;
  }

  private first(): FanOutMember | undefined {
    for (const member of this.waiting) return member;
    return undefined;
  }

  private wake(): void {
    while (this.active.size < this.factor && this.waiting.size > 0) {
      const next = this.first()!;
      this.waiting.delete(next);
      this.active.add(next);
      next.resume();
    }
  }
}
