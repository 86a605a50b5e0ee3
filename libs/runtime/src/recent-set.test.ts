import { describe, expect, it } from 'vitest';
import { RecentSet } from './recent-set.ts';

describe('RecentSet', () => {
  it('keeps the last `limit` values added, forgetting the oldest first', () => {
    const s = new RecentSet<string>(3);
    for (const v of ['a', 'b', 'c', 'd']) s.add(v);
    expect([...s]).toEqual(['b', 'c', 'd']);
    s.add('b'); // already there: nothing moves, nothing goes
    expect([...s]).toEqual(['b', 'c', 'd']);
    s.add('e');
    expect(s.has('b')).toBe(false);
    expect(s.size).toBe(3);
  });

  it('refuses a limit under 1', () => {
    expect(() => new RecentSet(0)).toThrow(RangeError);
  });
});
