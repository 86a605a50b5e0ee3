import { describe, expect, it } from 'vitest';
import { AudioGaps } from './audio-gaps.ts';
import { memoryLogger } from './testing.ts';

describe('AudioGaps: which gaps are read back', () => {
  it('a gap the mailbox made is left alone; a later gap, after chunks heard since the shedding, is read back', async () => {
    let dropped = 0;
    const reads: string[] = [];
    const history = { missing: async (_d: string, a: { seq: number }, b: { seq: number }) => (reads.push(`${a.seq}..${b.seq}`), []) };
    const gaps = new AudioGaps('d', history, { minIntervalMs: 0 }, () => dropped);
    const log = memoryLogger().log;
    const at = (seq: number) => ({ seq, captureTsUs: seq * 20_000 });
    gaps.heard(at(0));
    dropped = 5; // the mailbox shed chunks 1 to 5
    await gaps.missingBefore(at(6), log);
    gaps.heard(at(6));
    gaps.heard(at(7));
    // A gap from a NATS outage, long after the shedding.
    await gaps.missingBefore(at(20), log);
    // The mailbox dropped a chunk that left no gap (one sent again after an outage), then
    // chunks went on: the next gap is still read.
    dropped = 6;
    gaps.heard(at(21));
    await gaps.missingBefore(at(30), log);
    expect(reads).toEqual(['7..20', '21..30']);
  });
});
