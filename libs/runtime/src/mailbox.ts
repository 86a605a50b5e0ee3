/**
 * A bounded FIFO. Real-time audio must never queue without bound: when full, the oldest
 * droppable entry (audio) makes room; entries that are not droppable (control, events) are
 * always kept, since losing an interrupt or a turn end is worse than exceeding the bound by one.
 */
export interface MailboxEntry {
  droppable: boolean;
}

export class Mailbox<E extends MailboxEntry> {
  readonly capacity: number;
  private items: E[] = [];
  private head = 0;
  dropped = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds an entry; returns the entries dropped to make room (for logging and counting). */
  push(entry: E): E[] {
    const dropped: E[] = [];
    while (this.size >= this.capacity) {
      const victim = this.dropOldestDroppable();
      if (!victim) break;
      dropped.push(victim);
    }
    if (this.size >= this.capacity && entry.droppable) {
      // Full of undroppable entries: the new audio is the one to go.
      this.dropped++;
      dropped.push(entry);
      return dropped;
    }
    this.items.push(entry);
    return dropped;
  }

  shift(): E | undefined {
    if (this.head >= this.items.length) return undefined;
    const entry = this.items[this.head++];
    // Compact now and then so a long-lived mailbox does not keep a growing array.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private dropOldestDroppable(): E | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const entry = this.items[i]!;
      if (entry.droppable) {
        this.items.splice(i, 1);
        this.dropped++;
        return entry;
      }
    }
    return undefined;
  }
}
