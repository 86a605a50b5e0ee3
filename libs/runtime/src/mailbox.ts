/**
 * A bounded mailbox with two lanes. The priority lane (control, turn events, timers that must
 * keep time) is always served before the normal lane (audio and the rest), so an interrupt
 * never waits behind queued audio; within a lane entries keep their order. When the mailbox
 * is full, the oldest droppable entry (audio) makes room; entries that are not droppable are
 * always kept, since losing an interrupt or a turn end is worse than exceeding the bound.
 */
export interface MailboxEntry {
  droppable: boolean;
  /** Served before every normal entry. Priority entries are never dropped. */
  priority?: boolean | undefined;
}

/** A FIFO array with a moving head, compacted now and then instead of shifting each time. */
class Lane<E> {
  private items: E[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(entry: E): void {
    this.items.push(entry);
  }

  shift(): E | undefined {
    if (this.head >= this.items.length) return undefined;
    const entry = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Removes and returns the oldest entry that matches. */
  removeFirst(match: (entry: E) => boolean): E | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const entry = this.items[i]!;
      if (match(entry)) {
        this.items.splice(i, 1);
        return entry;
      }
    }
    return undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class Mailbox<E extends MailboxEntry> {
  readonly capacity: number;
  private readonly priority = new Lane<E>();
  private readonly normal = new Lane<E>();
  dropped = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.priority.size + this.normal.size;
  }

  /** Adds an entry; returns the entries dropped to make room (for logging and counting). */
  push(entry: E): E[] {
    const dropped: E[] = [];
    while (this.size >= this.capacity) {
      const victim = this.normal.removeFirst((e) => e.droppable);
      if (!victim) break;
      this.dropped++;
      dropped.push(victim);
    }
    const droppable = entry.droppable && !entry.priority;
    if (this.size >= this.capacity && droppable) {
      // Full of undroppable entries: the new audio is the one to go.
      this.dropped++;
      dropped.push(entry);
      return dropped;
    }
    (entry.priority ? this.priority : this.normal).push(entry);
    return dropped;
  }

  shift(): E | undefined {
    return this.priority.shift() ?? this.normal.shift();
  }

  clear(): void {
    this.priority.clear();
    this.normal.clear();
  }
}
