import { describe, expect, it } from 'vitest';
import { memorySamples, summarize } from './soak.ts';

describe('soak summary', () => {
  it('fits RSS after the warm-up only, as MB per 10 minutes, and averages CPU over the same window', () => {
    // Start-up grows 100 MB in the first minute, then 0.5 MB per minute (5 per 10 min); CPU 30 %.
    const samples = Array.from({ length: 61 }, (_, i) => {
      const t = i * 10;
      return { t, rssMb: t < 60 ? t * (100 / 60) : 100 + ((t - 60) / 60) * 0.5, cpuSeconds: t * 0.3 };
    });
    const s = summarize('vad', samples, 60);
    expect(s.rssSlopeMbPer10Min).toBeCloseTo(5, 6);
    expect(s.rssLateSlopeMbPer10Min).toBeCloseTo(5, 6);
    expect(s.rssAfterWarmupMb).toBeCloseTo(100, 6);
    expect(s.cpuPercent).toBeCloseTo(30, 6);
    // Without the warm-up cut, start-up would read as a leak.
    expect(summarize('vad', samples, 0).rssSlopeMbPer10Min).toBeGreaterThan(20);
  });

  it('tells a process that fills up and levels off from a leak by the second half\'s slope', () => {
    // 10 MB in the first 10 minutes after warm-up, flat for the next 10; a leak of 5 per 10 min throughout.
    const levels = Array.from({ length: 121 }, (_, i) => ({ t: i * 10, rssMb: 100 + Math.min(i, 60) / 6, cpuSeconds: 0 }));
    const leak = Array.from({ length: 121 }, (_, i) => ({ t: i * 10, rssMb: 100 + i / 12, cpuSeconds: 0 }));
    expect(summarize('session', levels, 0).rssSlopeMbPer10Min).toBeGreaterThan(4);
    expect(summarize('session', levels, 0).rssLateSlopeMbPer10Min).toBeCloseTo(0, 6);
    expect(summarize('vad', leak, 0).rssLateSlopeMbPer10Min).toBeCloseTo(5, 6);
  });

  it('says nothing (NaN) from fewer than two samples', () => {
    expect(summarize('vad', [{ t: 100, rssMb: 50, cpuSeconds: 1 }], 60).rssSlopeMbPer10Min).toBeNaN();
  });

  it('splits a service\'s growth into V8 heap and native memory from its own memory lines, after the warm-up', () => {
    const t0 = Date.parse('2026-12-02T10:00:00.000Z');
    // Heap flat at 50 MB; RSS (hence native) grows 1 MB a minute; one line cut off at the end.
    const lines = Array.from({ length: 31 }, (_, i) => JSON.stringify({ level: 30, time: new Date(t0 + i * 20_000).toISOString(), memory: { rss: 200 + i / 3, heapTotal: 70, heapUsed: 50, external: 5, arrayBuffers: 1 }, msg: 'memory' }));
    const memory = memorySamples([...lines, '{"time":"2026-12-02T10:11', '{"msg":"other"}'].join('\n'), t0);
    expect(memory).toHaveLength(31);
    const s = summarize('vad', memory.map((m) => ({ t: m.t, rssMb: m.native + 70, cpuSeconds: 0 })), 60, memory);
    expect(s.heapSlopeMbPer10Min).toBeCloseTo(0, 6);
    expect(s.nativeSlopeMbPer10Min).toBeCloseTo(10, 6);
  });
});
