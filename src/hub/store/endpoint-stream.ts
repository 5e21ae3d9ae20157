import type { HubMessage } from '../message/index.js';
import { decodeMessage } from './message-codec.js';
import type { Commit, QueueInfo } from './shard-protocol.js';

export const EntryState = { Ready: 0, Inflight: 1, Done: 2 } as const;
export type EntryState = (typeof EntryState)[keyof typeof EntryState];

/**
 * One queued message, loaded on the main thread for delivery. An entry read back from the store
 * keeps the stored bytes and decodes them each time it is sent, without keeping the result: the
 * sender's settle callback holds the decoded message while it is in flight. Entries loaded ahead
 * wait long enough to be promoted to the old generation, and a young decoded message stored in
 * an old entry would stay alive through every scavenge until the next full collection, dead or
 * not; the bytes are one view of the page, off the V8 heap (issue 18: the drain's scavenges).
 */
export class QueueEntry {
  state: EntryState = EntryState.Ready;
  /** Bumped on every send and every abandonment, so a late outcome of an old attempt is ignored. */
  attempt = 0;
  sentAtMs = 0;
  /** Set on an entry read back for a parked source (EndpointStream.revivePage): it is not in the window. */
  parkedSource: string | undefined = undefined;
  /** `message`: the one just written (the fast path); `stored`: its bytes, read back from the store. */
  constructor(
    readonly seq: number,
    readonly expiresAtMs: number,
    /** Cumulative queue bytes up to and including this entry (entry-header.ts). */
    readonly cum: number,
    private message: HubMessage | undefined,
    private stored: Uint8Array | undefined,
  ) {}

  /**
   * The message (the one offered, or decoded from the stored bytes), or the reason the stored
   * bytes do not decode. `keep`: decoded once for good (for an entry looked at again and again
   * while its source is held up).
   */
  decode(keep = false): HubMessage | RangeError {
    if (this.message !== undefined) return this.message;
    try {
      const message = decodeMessage(this.stored!);
      if (keep) {
        this.message = message;
        this.stored = undefined;
      }
      return message;
    } catch (error) {
      return error instanceof RangeError ? error : new RangeError(String(error));
    }
  }

  /** Parked: its message leaves memory (it is read back from the store when its source may go). */
  release(): void {
    this.message = undefined;
    this.stored = undefined;
  }
}

/** A read-back entry as the shard sent it: the message still encoded (message-codec.ts). */
export interface StoredEntry {
  readonly expiresAtMs: number;
  readonly cum: number;
  readonly bytes: Uint8Array;
}

/**
 * A held source's entry taken out of the window: what it takes to read it back in order and to
 * keep the checkpoint from passing it (the queue's cumulative bytes before it).
 */
interface Parked {
  readonly seq: number;
  readonly cumBefore: number;
}

/**
 * One source's parked entries, oldest first: removed at the front as they are sent (an array with a
 * head index, so removing the oldest of tens of thousands does not move the rest). `revived`: the
 * first of them read back to send (always a prefix of the parked ones), and `cursor`, the index in
 * it before which none is Ready (they are in flight), where the next one to send is looked for.
 */
class ParkedSource {
  private items: Parked[] = [];
  private head = 0;
  revived: QueueEntry[] = [];
  cursor = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(k: number): Parked | undefined {
    return this.items[this.head + k];
  }

  /**
   * Adds `parked` in sequence order and returns its index: at the end but for an entry that was in
   * flight when its source's later ones were parked, and came back (lost) to be parked after them.
   */
  insert(parked: Parked): number {
    let at = this.items.length;
    while (at > this.head && this.items[at - 1]!.seq > parked.seq) at--;
    if (at === this.items.length) this.items.push(parked);
    else this.items.splice(at, 0, parked);
    return at - this.head;
  }

  removeAt(k: number): void {
    if (k === 0) {
      this.items[this.head] = undefined as unknown as Parked;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    } else this.items.splice(this.head + k, 1);
  }

  indexOfSeq(seq: number): number {
    // Almost always the first: entries of a source are sent and acknowledged in order.
    for (let k = 0; k < this.length; k++) if (this.items[this.head + k]!.seq === seq) return k;
    return -1;
  }

  countBelow(seq: number): number {
    let count = 0;
    while (count < this.length && this.items[this.head + count]!.seq < seq) count++;
    return count;
  }
}

export interface StreamDescription {
  readonly shard: number;
  readonly queueId: string;
  readonly doneUpTo: number;
  readonly loadedUpTo: number;
  readonly tail: number;
  readonly committedHead: number;
  readonly reading: boolean;
  readonly loaded: number;
  readonly ready: number;
  readonly inflight: number;
  /** Entries of held sources taken out of the window, waiting in the store. */
  readonly parked: number;
}

/**
 * The main thread's view of one endpoint's queue in one shard: a window of loaded entries
 * [doneUpTo, loadedUpTo) of the durable queue [head, tail). Entries arrive either straight from a
 * write (the fast path: the message object that was just stored, no read-back) or from read-back
 * pages when the queue has a backlog. `doneUpTo` is the acknowledged (or expired) prefix; it goes
 * to the shard as a checkpoint, which trims the durable queue.
 *
 * Invariant: loaded entries have consecutive sequence numbers and entries[first].seq === doneUpTo.
 */
export class EndpointStream {
  private entries: QueueEntry[] = [];
  private first = 0;
  /** Index into `entries` from which to look for the next Ready entry. */
  private cursor = 0;
  doneUpTo: number;
  doneCum: number;
  loadedUpTo: number;
  tail: number;
  committedHead: number;
  reading = false;
  /** Held sources' entries taken out of the window (parkHeld), and those read back (revivePage), by source. */
  private readonly parked = new Map<string, ParkedSource>();
  private parkedCount = 0;
  /** A read for parked entries is under way (one at a time). */
  reviving = false;

  constructor(
    readonly shard: number,
    /** The queue (queue-id.ts): the endpoint's at one priority. */
    readonly queueId: string,
    readonly priority: number,
    queue: Pick<QueueInfo, 'head' | 'tail' | 'cumHead'>,
    /** Entries kept loaded ahead of delivery (its endpoint's: twice the window, at least the store's read-ahead). */
    readonly readAhead: number,
  ) {
    this.doneUpTo = queue.head;
    this.doneCum = queue.cumHead;
    this.loadedUpTo = queue.head;
    this.tail = queue.tail;
    this.committedHead = queue.head;
  }

  /** Messages in the durable queue not yet acknowledged (or expired). */
  get backlog(): number {
    return this.tail - this.doneUpTo;
  }

  get loaded(): number {
    return this.entries.length - this.first;
  }

  /** A message was just written at `seq`: keep it for delivery if it extends the loaded window. */
  offer(seq: number, expiresAtMs: number, cum: number, message: HubMessage): void {
    if (seq >= this.tail) this.tail = seq + 1;
    if (seq === this.loadedUpTo && !this.reading && this.loaded < this.readAhead) {
      this.entries.push(new QueueEntry(seq, expiresAtMs, cum, message, undefined));
      this.loadedUpTo = seq + 1;
    }
  }

  /**
   * Whether to load the next page: fewer than `readAhead` entries wait from the cursor on while
   * the durable queue has more. At half of it (before 2026-12-04) the rest lasted about 23 ms of
   * an upstream drain and a page took longer, so the window stood a third empty; read-back
   * entries are their stored bytes (QueueEntry), so holding up to two pages costs little.
   */
  needsRead(): boolean {
    return !this.reading && this.loadedUpTo < this.tail && this.entries.length - this.cursor < this.readAhead;
  }

  /** A read-back page starting at `firstSeq`; entries already loaded or gone are skipped. */
  loadPage(firstSeq: number, entries: readonly StoredEntry[]): void {
    this.reading = false;
    // A page from before a head advance may start below the window; one starting above it would
    // mean entries vanished unannounced, which the shard's ordering rules out: drop such a page.
    const skip = this.loadedUpTo - firstSeq;
    if (skip < 0) return;
    for (let i = skip; i < entries.length; i++) {
      const entry = entries[i]!;
      this.entries.push(new QueueEntry(this.loadedUpTo, entry.expiresAtMs, entry.cum, undefined, entry.bytes));
      this.loadedUpTo += 1;
    }
    if (this.loadedUpTo > this.tail) this.tail = this.loadedUpTo;
  }

  /** The oldest entry waiting to be sent. */
  next(): QueueEntry | undefined {
    const entries = this.entries;
    for (let i = this.cursor; i < entries.length; i++) {
      if (entries[i]!.state === EntryState.Ready) {
        this.cursor = i;
        return entries[i];
      }
    }
    this.cursor = entries.length;
    return undefined;
  }

  /**
   * The oldest Ready entry at or after `from` (an index from a previous call, 0 to start) that
   * `skip` does not exclude, with where to continue; for a target whose sources are held up one by
   * one (endpoint-dispatcher.ts). Indexes hold until the next markDone or advanceHead.
   */
  nextFrom(from: number, skip: (entry: QueueEntry) => boolean): { entry: QueueEntry; index: number } | undefined {
    const entries = this.entries;
    for (let i = Math.max(from, this.cursor); i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.state === EntryState.Ready && !skip(entry)) return { entry, index: i };
    }
    return undefined;
  }

  /** An entry goes back to Ready (lost or timed out); it is the next to go out again. */
  rewind(entry: QueueEntry): void {
    entry.state = EntryState.Ready;
    entry.attempt += 1;
    // A revived entry is not in the window: its source's revived list is looked at from it again.
    if (entry.parkedSource !== undefined) {
      const parked = this.parked.get(entry.parkedSource);
      const at = parked?.revived.indexOf(entry) ?? -1;
      if (at >= 0 && at < parked!.cursor) parked!.cursor = at;
      return;
    }
    const index = this.first + (entry.seq - this.doneUpTo);
    if (index < this.cursor) this.cursor = index;
  }

  /** Acknowledged, expired or undeliverable: done. Returns true when the done prefix grew. */
  markDone(entry: QueueEntry): boolean {
    entry.state = EntryState.Done;
    if (entry.parkedSource !== undefined) return this.parkedDone(entry);
    const before = this.doneUpTo;
    this.advanceDone();
    return this.doneUpTo > before;
  }

  private advanceDone(): void {
    const entries = this.entries;
    while (this.first < entries.length && entries[this.first]!.state === EntryState.Done) {
      this.doneCum = entries[this.first]!.cum;
      entries[this.first] = undefined as unknown as QueueEntry;
      this.first += 1;
      this.doneUpTo += 1;
    }
    if (this.cursor < this.first) this.cursor = this.first;
    this.compact();
  }

  // ---- held sources' entries out of the window (parking) --------------------------------------
  //
  // A target that holds sources up one by one ($upstream) skips a held source's entries; once they
  // fill the window (the read-ahead), nothing behind them could load and every other source of the
  // queue waited too. Parked, they leave the window (only their sequence number and the queue's
  // cumulative bytes before them stay, about 40 bytes each) and the window moves on; the
  // checkpoint stops at the oldest parked entry, so none is trimmed from the store or lost by a
  // restart (the other sources' messages after it are sent again then, as any unacknowledged
  // tail). Once the source may go, its parked entries are read back from the store in order
  // (revivePage) and sent before any of its entries still in the window.

  /** The window is full of what cannot move while the durable queue has more: parking would let it load. */
  windowFull(): boolean {
    return !this.reading && this.loadedUpTo < this.tail && this.entries.length - this.cursor >= this.readAhead;
  }

  get parkedTotal(): number {
    return this.parkedCount;
  }

  hasParked(source: string): boolean {
    return this.parked.has(source);
  }

  /**
   * Parks every Ready entry of the window that `parkable` names a source for (a held one, or one
   * whose parked entries are not all sent yet), up to `maxParked` in this stream; returns how many.
   */
  parkHeld(parkable: (entry: QueueEntry) => string | undefined, maxParked: number): number {
    const entries = this.entries;
    let count = 0;
    for (let i = this.cursor; i < entries.length && this.parkedCount < maxParked; i++) {
      const entry = entries[i]!;
      if (entry.state !== EntryState.Ready) continue;
      const source = parkable(entry);
      if (source === undefined) continue;
      let list = this.parked.get(source);
      if (list === undefined) this.parked.set(source, (list = new ParkedSource()));
      const at = list.insert({ seq: entry.seq, cumBefore: i === this.first ? this.doneCum : entries[i - 1]!.cum });
      // Older than entries already read back: those are read back again after it, in order (any of
      // them in flight that is acknowledged meanwhile is sent once more: at least once).
      if (at < list.revived.length) {
        list.revived.length = at;
        list.cursor = Math.min(list.cursor, at);
      }
      this.parkedCount++;
      entry.state = EntryState.Done;
      entry.attempt += 1;
      entry.release();
      count++;
    }
    if (count === 0) return 0;
    this.advanceDone();
    // advanceDone may have compacted: `this.entries`, not the array read above.
    while (this.cursor < this.entries.length && this.entries[this.cursor]!.state === EntryState.Done) this.cursor++;
    return count;
  }

  /**
   * Where the next read-back of `source`'s parked entries starts, or undefined when none is needed
   * now (all read back, or enough read back and not yet sent).
   */
  reviveFrom(source: string): number | undefined {
    const list = this.parked.get(source);
    if (list === undefined) return undefined;
    const revived = list.revived.length;
    if (revived >= list.length || revived >= this.readAhead / 2) return undefined;
    return list.at(revived)!.seq;
  }

  parkedSources(): IterableIterator<string> {
    return this.parked.keys();
  }

  /**
   * A page read back for `source`'s parked entries, asked for from `fromSeq` and starting at
   * `firstSeq`: those it holds become entries to send (in order, after the ones already read back).
   * Parked entries from `fromSeq` up to where the page starts are no longer in the store (the shard
   * removed them, expired): they are forgotten; returns how many. A page asked for before the
   * entries to read back changed (an older one parked since) is ignored: the next is asked anew.
   */
  revivePage(source: string, fromSeq: number, firstSeq: number, page: readonly StoredEntry[]): number {
    this.reviving = false;
    const list = this.parked.get(source);
    if (list === undefined) return 0;
    const revived = list.revived;
    if (list.at(revived.length)?.seq !== fromSeq) return 0;
    let gone = 0;
    // Nothing from there on in the store: whatever of it was parked and not read back is gone.
    if (page.length === 0) firstSeq = Number.POSITIVE_INFINITY;
    while (list.length > revived.length && list.at(revived.length)!.seq < firstSeq) {
      list.removeAt(revived.length);
      this.parkedCount--;
      gone++;
    }
    for (let k = revived.length; k < list.length; k++) {
      const at = list.at(k)!.seq - firstSeq;
      if (at >= page.length) break;
      const stored = page[at]!;
      const entry = new QueueEntry(list.at(k)!.seq, stored.expiresAtMs, stored.cum, undefined, stored.bytes);
      entry.parkedSource = source;
      revived.push(entry);
    }
    this.forgetIfEmpty(source);
    return gone;
  }

  /** The oldest revived entry ready to send of a source `skip` does not exclude. */
  nextRevived(skip: (source: string) => boolean): QueueEntry | undefined {
    for (const [source, list] of this.parked) {
      if (skip(source)) continue;
      const revived = list.revived;
      for (let i = list.cursor; i < revived.length; i++) {
        if (revived[i]!.state !== EntryState.Ready) continue;
        list.cursor = i;
        return revived[i];
      }
      list.cursor = revived.length;
    }
    return undefined;
  }

  /** How many parked entries are below `head` (the shard removed them). */
  parkedBelow(head: number): number {
    let count = 0;
    for (const list of this.parked.values()) count += list.countBelow(head);
    return count;
  }

  private parkedDone(entry: QueueEntry): boolean {
    const source = entry.parkedSource!;
    const list = this.parked.get(source);
    const at = list?.revived.indexOf(entry) ?? -1;
    if (at < 0 || list === undefined) return false;
    list.revived.splice(at, 1);
    if (at < list.cursor) list.cursor--;
    const parkedAt = list.indexOfSeq(entry.seq);
    if (parkedAt >= 0) {
      list.removeAt(parkedAt);
      this.parkedCount--;
    }
    this.forgetIfEmpty(source);
    // The checkpoint may move past it now.
    return true;
  }

  private forgetIfEmpty(source: string): void {
    const list = this.parked.get(source);
    if (list !== undefined && list.length > 0) return;
    this.parked.delete(source);
  }

  /** The oldest parked entry (the checkpoint stops there), if any. */
  private oldestParked(): Parked | undefined {
    let oldest: Parked | undefined;
    for (const list of this.parked.values()) {
      const first = list.at(0);
      if (first !== undefined && (oldest === undefined || first.seq < oldest.seq)) oldest = first;
    }
    return oldest;
  }

  /** Every in-flight entry, oldest first. */
  *inflight(): Generator<QueueEntry> {
    for (let i = this.first; i < this.entries.length; i++) if (this.entries[i]!.state === EntryState.Inflight) yield this.entries[i]!;
    for (const list of this.parked.values()) for (const entry of list.revived) if (entry.state === EntryState.Inflight) yield entry;
  }

  /**
   * The shard removed the queue's head up to `head` (expired or dropped). Returns how many of the
   * removed entries were in flight (their outcomes will be ignored).
   */
  advanceHead(head: number, cumHead: number): number {
    let inflight = this.parkedCount > 0 ? this.dropParkedBelow(head) : 0;
    if (head <= this.doneUpTo) return inflight;
    const entries = this.entries;
    while (this.first < entries.length && entries[this.first]!.seq < head) {
      const entry = entries[this.first]!;
      if (entry.state === EntryState.Inflight) inflight++;
      entry.state = EntryState.Done;
      entry.attempt += 1;
      entries[this.first] = undefined as unknown as QueueEntry;
      this.first += 1;
    }
    this.doneUpTo = head;
    this.doneCum = cumHead;
    if (this.loadedUpTo < head) this.loadedUpTo = head;
    if (this.tail < head) this.tail = head;
    if (this.committedHead < head) this.committedHead = head;
    if (this.cursor < this.first) this.cursor = this.first;
    this.compact();
    return inflight;
  }

  /** Forgets parked (and revived) entries below `head`; returns how many revived ones were in flight. */
  private dropParkedBelow(head: number): number {
    let inflight = 0;
    for (const [source, list] of this.parked) {
      const revived = list.revived;
      while (list.length > 0 && list.at(0)!.seq < head) {
        list.removeAt(0);
        this.parkedCount--;
        if (revived[0] !== undefined && revived[0].seq < head) {
          const entry = revived.shift()!;
          if (list.cursor > 0) list.cursor--;
          if (entry.state === EntryState.Inflight) inflight++;
          entry.state = EntryState.Done;
          entry.attempt += 1;
        }
      }
      this.forgetIfEmpty(source);
    }
    return inflight;
  }

  /** Its delivery state, for diagnostics (a stalled queue says where it stands). */
  describe(): StreamDescription {
    let ready = 0;
    let inflight = 0;
    for (let i = this.first; i < this.entries.length; i++) {
      const state = this.entries[i]!.state;
      if (state === EntryState.Ready) ready++;
      else if (state === EntryState.Inflight) inflight++;
    }
    return { shard: this.shard, queueId: this.queueId, doneUpTo: this.doneUpTo, loadedUpTo: this.loadedUpTo, tail: this.tail, committedHead: this.committedHead, reading: this.reading, loaded: this.loaded, ready, inflight, parked: this.parkedCount };
  }

  /** The checkpoint to write, if the done prefix moved since the last one. */
  takeCommit(): Commit | undefined {
    let head = this.doneUpTo;
    let cumHead = this.doneCum;
    const oldest = this.parkedCount > 0 ? this.oldestParked() : undefined;
    if (oldest !== undefined && oldest.seq < head) {
      head = oldest.seq;
      cumHead = oldest.cumBefore;
    }
    if (head <= this.committedHead) return undefined;
    this.committedHead = head;
    return { queueId: this.queueId, head, cumHead };
  }

  private compact(): void {
    // Amortized O(1) dequeue without shifting on every message.
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.cursor -= this.first;
      this.first = 0;
    }
    if (this.first === this.entries.length && this.first > 0) {
      this.entries.length = 0;
      this.cursor = 0;
      this.first = 0;
    }
  }
}
