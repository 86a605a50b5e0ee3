import { describe, expect, it } from 'vitest';
import { latencyHistogram, minSamplesFor, percentileIfMeaningful, percentileWithLosses } from './stats.ts';
import { score } from './vad-compare.ts';

describe('benchmark statistics', () => {
  it('a percentile needs at least 5 samples above it', () => {
    expect(minSamplesFor(95)).toBe(100);
    expect(minSamplesFor(99)).toBe(500);
    const h = latencyHistogram();
    for (let i = 1; i <= 4; i++) h.recordValue(i * 1000);
    // n=4 turns: the "p99" would be the maximum.
    expect(percentileIfMeaningful(h, 99, 4)).toBeUndefined();
    for (let i = 5; i <= 10; i++) h.recordValue(i * 1000);
    // HDR keeps 3 significant digits.
    expect(percentileIfMeaningful(h, 50, 10)).toBeCloseTo(5000, -1);
    expect(percentileIfMeaningful(h, 95, 10)).toBeUndefined();
  });

  it('lost samples count as infinitely late instead of being left out', () => {
    const h = latencyHistogram();
    for (let i = 1; i <= 990; i++) h.recordValue(100);
    for (let i = 1; i <= 5; i++) h.recordValue(5000);
    // 995 of 1000 arrived: p99 (rank 990) is still an arrival, p99.9 (rank 999) is a lost one.
    expect(percentileWithLosses(h, 99, 995, 1000)).toBe(100);
    expect(percentileWithLosses(h, 99.9, 995, 1000)).toBe(Infinity);
    // 20 lost of 1000: p99 is lost too.
    expect(percentileWithLosses(h, 99, 980, 1000)).toBe(Infinity);
    // Nothing lost: the ordinary percentile.
    expect(percentileWithLosses(h, 99.9, 995, 995)).toBe(h.getValueAtPercentile(99.9));
  });

  it('boundary scoring matches each true turn with the segment overlapping it most, and counts misses and extras', () => {
    const truth = [{ startMs: 1000, endMs: 2000 }, { startMs: 5000, endMs: 6000 }];
    const a = score([{ truth, segments: [{ startMs: 1030, endMs: 1950 }, { startMs: 3000, endMs: 3100 }] }]);
    expect(a).toMatchObject({ countsRight: 1, missed: 1, extra: 1, startErrorMs: 30, endErrorMs: 50, maxErrorMs: 50 });
  });
});
