import { describe, expect, it } from 'vitest';
import { unansweredTurns } from './conversation-monitor.ts';

const row = (answered: boolean, dropped: 'continued' | 'false-interruption' | 'no-session' | null = null) => ({ answered, dropped });

describe('unansweredTurns', () => {
  it('a continued turn is answered by a later answer, and owed when the conversation ends on it', () => {
    expect(unansweredTurns([row(true), row(false, 'continued'), row(true)])).toEqual([]);
    expect(unansweredTurns([row(true), row(false, 'continued'), row(false, 'continued')])).toEqual([1, 2]);
    expect(unansweredTurns([row(false, 'continued'), row(false, 'continued'), row(true), row(false, 'continued')])).toEqual([3]);
  });

  it('a false interruption is no spoken turn; a dropped or unanswered one is owed', () => {
    expect(unansweredTurns([row(false, 'false-interruption'), row(true)])).toEqual([]);
    expect(unansweredTurns([row(false, 'no-session'), row(false), row(true)])).toEqual([0, 1]);
  });
});
