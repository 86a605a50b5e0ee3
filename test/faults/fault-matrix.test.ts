import { describe, expect, it } from 'vitest';
import { cellName, runCell, type Cell } from './fault-matrix.ts';

/**
 * The part of the fault matrix the suite runs (`./voicebus faults` runs all of it): the cells
 * no other e2e test covers, each one of the fixes it led to. The model's faults in a user turn,
 * the session killed in a turn, a vad instance killed or stopped past its lease are in
 * gemini-scenarios, devices-and-faults and scale-out.
 */
const SUITE_CELLS: Cell[] = [
  // A restarted vad goes on with the open turn (the turn history); before, the turn was lost
  // without a word (exit 0).
  { fault: 'kill-vad', moment: 'user-turn' },
  // The tail of an answer auto-completed in a stall is swallowed; before, it came out as a
  // model-initiated answer of its own.
  { fault: 'stall-5s', moment: 'answer' },
  // A session killed while its answer plays: resumed, the next turn answered once.
  { fault: 'kill-session', moment: 'answer' },
];

describe.concurrent('the fault matrix, in the suite: every spoken turn answered exactly once, no answer twice, no hang, exit 0', () => {
  it.each(SUITE_CELLS.map((c) => [cellName(c), c] as const))('%s', async (_name, cell) => {
    const r = await runCell(cell);
    expect(r.firedAtMs, 'the fault was done').toBeDefined();
    expect(r.failures, r.out).toEqual([]);
  }, 150_000);
});
