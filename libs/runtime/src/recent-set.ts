/**
 * A Set that keeps only its `limit` most recently added values, oldest out first: what the
 * actors remember to recognise a message that comes twice (a resent event, a replayed
 * chunk) without remembering a whole conversation.
 */
export class RecentSet<T> extends Set<T> {
  readonly limit: number;

  constructor(limit: number) {
    super();
    if (!(limit >= 1)) throw new RangeError(`a RecentSet keeps at least 1 value, got ${limit}`);
    this.limit = limit;
  }

  override add(value: T): this {
    super.add(value);
    if (this.size > this.limit) this.delete(this.values().next().value!);
    return this;
  }
}
