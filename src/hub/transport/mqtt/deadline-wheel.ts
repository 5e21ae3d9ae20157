/** Something with a deadline on a DeadlineWheel (an MQTT connection: its CONNECT or keep-alive limit). */
export interface WheelMember {
  /** The slot it is in, kept by the wheel (-1: none); a field of the member, so no map is needed. */
  wheelSlot: number;
  /**
   * Called at or after its deadline (at most two ticks late: rounded up to a tick, and the timer's
   * own phase): returns the next deadline, or
   * undefined when it has none any more (it closed, or its keep-alive is off).
   */
  due(nowMs: number): number | undefined;
}

/** Slots of the ring: deadlines past it are placed in the last one and come back round. */
const SLOTS = 64;

/**
 * The deadlines of every connection on one timer, instead of a `Timeout`, a closure and its context
 * per connection (about 220 bytes of heap each; issue 20: idle connections). Deadlines are rounded
 * up to the next tick (1 s) and handled on the timer's next call: a keep-alive limit of one and a
 * half periods is checked at most two seconds late, which MQTT allows (the server "may" close
 * after it). The ring of SLOTS ticks holds nearer deadlines in their own slot and farther ones in
 * the slot they come round to, rechecked then: a member asked early answers its deadline again
 * and is placed anew. Adding, moving and removing are O(1); a tick costs the members of one slot.
 */
export class DeadlineWheel {
  private readonly slots: Set<WheelMember>[] = Array.from({ length: SLOTS }, () => new Set());
  private timer: NodeJS.Timeout | undefined;
  private members = 0;
  /** The tick the next timer call handles (ms since the epoch ÷ tickMs). */
  private nextTick = 0;

  constructor(
    private readonly tickMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.members;
  }

  /** Places `member` for `deadlineMs` (replacing where it was). */
  set(member: WheelMember, deadlineMs: number): void {
    this.delete(member);
    if (this.timer === undefined) this.start();
    const tick = Math.max(Math.ceil(deadlineMs / this.tickMs), this.nextTick);
    // Beyond the ring: the farthest slot, rechecked when it comes round.
    const slot = Math.min(tick, this.nextTick + SLOTS - 1) % SLOTS;
    this.slots[slot]!.add(member);
    member.wheelSlot = slot;
    this.members++;
  }

  delete(member: WheelMember): void {
    if (member.wheelSlot < 0) return;
    if (this.slots[member.wheelSlot]!.delete(member)) this.members--;
    member.wheelSlot = -1;
    if (this.members === 0) this.stop();
  }

  /** Stops the timer (shutdown); members stay where they are. */
  close(): void {
    this.stop();
  }

  private start(): void {
    this.nextTick = Math.floor(this.now() / this.tickMs) + 1;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const nowMs = this.now();
    const upTo = Math.floor(nowMs / this.tickMs);
    // Every tick due since the last call (a busy event loop may have skipped some), each slot once.
    for (let tick = this.nextTick, last = Math.min(upTo, this.nextTick + SLOTS - 1); tick <= last; tick++) {
      const slot = tick % SLOTS;
      const due = this.slots[slot]!;
      if (due.size === 0) continue;
      // A fresh set: members placed again (or new ones) during this pass do not come round in it.
      this.slots[slot] = new Set();
      this.nextTick = tick + 1;
      for (const member of due) {
        member.wheelSlot = -1;
        this.members--;
        let next: number | undefined;
        try {
          next = member.due(nowMs);
        } catch {
          next = undefined;
        }
        if (next !== undefined && member.wheelSlot < 0) this.set(member, next);
      }
    }
    this.nextTick = Math.max(this.nextTick, upTo + 1);
    if (this.members === 0) this.stop();
  }
}
