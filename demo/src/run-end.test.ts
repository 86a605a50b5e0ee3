import { describe, expect, it } from 'vitest';
import { unansweredTurns } from './conversation-monitor.ts';
import type { DeviceView } from './conversation-monitor.ts';
import { RUN_END, runExitCode } from './run-end.ts';

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

describe('runExitCode', () => {
  const device = (...rows: ReturnType<typeof row>[]) => ({ rows: rows.map((r, i) => ({ ...r, turnId: `t${i}` })) }) as unknown as DeviceView;
  const quiet = () => {};
  it('0 only when the run finished with every spoken turn answered (a web demo\'s time limit is its end)', () => {
    expect(runExitCode(RUN_END.finished, [device(row(true)), device(row(false, 'false-interruption'))], quiet)).toBe(0);
    expect(runExitCode(RUN_END.webTimeLimit, [device(row(true))], quiet)).toBe(0);
  });
  it('3 for a turn unanswered, 4 for the time limit or a quiet end with nothing to blame, and for a failure', () => {
    const said: string[] = [];
    expect(runExitCode(RUN_END.quiet, [device(row(true), row(false))], (l) => said.push(l))).toBe(3);
    expect(said).toEqual(['1 spoken turn went unanswered: t1']);
    expect(runExitCode(RUN_END.timeLimit, [device(row(false))], quiet)).toBe(4);
    expect(runExitCode(RUN_END.quiet, [device(row(true))], quiet)).toBe(4);
    expect(runExitCode('failed', [device(row(true))], quiet)).toBe(4);
  });
});
