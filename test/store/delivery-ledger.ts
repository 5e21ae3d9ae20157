/**
 * What the crash tests' publisher had acknowledged and their module received, per source, with an
 * O(1) answer to "is every acknowledged message delivered?". The crash test asks that after every
 * delivery batch, and the module acknowledges a batch only after recording it, so the check sits
 * on the delivery path: rebuilt from every delivery so far (as it once was) it cost 40-50 ms per
 * batch on a loaded machine with ~250,000 deliveries recorded, which throttled the last round's
 * drain to ~640 messages/s and failed the test's deadline with a tail still to deliver.
 */
export interface SourceShortfall {
  readonly undelivered: number;
  readonly from: number;
  readonly to: number;
  /** Every number from `from` to `to` is missing and nothing above was delivered: delivery stopped (or crawled) there. */
  readonly contiguousTail: boolean;
  readonly highestDelivered: number | undefined;
  readonly highestDeliveredInGeneration: number | undefined;
  readonly acked: number;
}

export class DeliveryLedger {
  readonly acked: Map<string, Set<number>>;
  /** Every delivery in arrival order, per source, tagged with the process generation. */
  readonly delivered: Map<string, { n: number; generation: number }[]>;
  private readonly seen: Map<string, Set<number>>;
  /** Acknowledged numbers not delivered yet, over all sources. */
  private missing = 0;
  private deliveries = 0;

  constructor(readonly sources: readonly string[]) {
    this.acked = new Map(sources.map((s) => [s, new Set<number>()]));
    this.delivered = new Map(sources.map((s) => [s, []]));
    this.seen = new Map(sources.map((s) => [s, new Set<number>()]));
  }

  ack(source: string, n: number): void {
    const acked = this.acked.get(source)!;
    if (acked.has(n)) return;
    acked.add(n);
    if (!this.seen.get(source)!.has(n)) this.missing++;
  }

  deliver(source: string, n: number, generation: number): void {
    this.delivered.get(source)!.push({ n, generation });
    this.deliveries++;
    const seen = this.seen.get(source)!;
    if (seen.has(n)) return;
    seen.add(n);
    // Delivery may come before the acknowledgement reaches the publisher (the store dispatches first).
    if (this.acked.get(source)!.has(n)) this.missing--;
  }

  get deliveryCount(): number {
    return this.deliveries;
  }

  get ackedTotal(): number {
    let total = 0;
    for (const set of this.acked.values()) total += set.size;
    return total;
  }

  /** Acknowledged numbers not delivered yet (duplicates do not lower it: a redelivery loop is no progress). */
  get undelivered(): number {
    return this.missing;
  }

  allAckedDelivered(): boolean {
    return this.missing === 0;
  }

  /** Per source that has any, what was acknowledged and not delivered (for a failure report; O(deliveries)). */
  shortfall(): Record<string, SourceShortfall> {
    const report: Record<string, SourceShortfall> = {};
    for (const source of this.sources) {
      const seen = this.seen.get(source)!;
      const missing = [...this.acked.get(source)!].filter((n) => !seen.has(n)).sort((a, b) => a - b);
      if (missing.length === 0) continue;
      let last: { n: number; generation: number } | undefined;
      for (const d of this.delivered.get(source)!) if (last === undefined || d.n > last.n) last = d;
      const from = missing[0]!;
      const to = missing[missing.length - 1]!;
      report[source] = {
        undelivered: missing.length,
        from,
        to,
        contiguousTail: missing.length === to - from + 1 && (last === undefined || last.n < from),
        highestDelivered: last?.n,
        highestDeliveredInGeneration: last?.generation,
        acked: this.acked.get(source)!.size,
      };
    }
    return report;
  }
}
