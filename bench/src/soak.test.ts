import { describe, expect, it } from 'vitest';
import { summarize } from './soak.ts';

describe('soak summary', () => {
  it('fits RSS after the warm-up only, as MB per 10 minutes, and averages CPU over the same window', () => {
    // Start-up grows 100 MB in the first minute, then 0.5 MB per minute (5 per 10 min); CPU 30 %.
    const samples = Array.from({ length: 61 }, (_, i) => {
      const t = i * 10;
      return { t, rssMb: t < 60 ? t * (100 / 60) : 100 + ((t - 60) / 60) * 0.5, cpuSeconds: t * 0.3 };
    });
    const s = summarize('vad', samples, 60);
    expect(s.rssSlopeMbPer10Min).toBeCloseTo(5, 6);
    expect(s.rssAfterWarmupMb).toBeCloseTo(100, 6);
    expect(s.cpuPercent).toBeCloseTo(30, 6);
    // Without the warm-up cut, start-up would read as a leak.
    expect(summarize('vad', samples, 0).rssSlopeMbPer10Min).toBeGreaterThan(20);
  });

  it('says nothing (NaN) from fewer than two samples', () => {
    expect(summarize('vad', [{ t: 100, rssMb: 50, cpuSeconds: 1 }], 60).rssSlopeMbPer10Min).toBeNaN();
  });
});
