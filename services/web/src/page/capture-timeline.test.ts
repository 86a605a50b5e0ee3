/// <reference lib="dom" />
import { describe, expect, it } from 'vitest';
import { CaptureTimeline } from './capture-timeline.ts';

describe('CaptureTimeline', () => {
  it('advances exactly one chunk per chunk, whatever the delivery jitter', () => {
    const t = new CaptureTimeline();
    const base = 1_700_000_000_000_000;
    // Delivered at 0, 27, 39, 61 and 80.5 ms after the first chunk was due.
    const got = [0, 27_000, 39_000, 61_000, 80_500].map((d) => t.next(base + 20_000 + d));
    expect(got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((g) => g.captureTsUs - base)).toEqual([0, 20_000, 40_000, 60_000, 80_000]);
    expect(t.firstCaptureTsUs).toBe(base);
  });

  it('re-anchors after a gap longer than 200 ms, keeping the sequence', () => {
    const t = new CaptureTimeline();
    t.next(1_000_000);
    t.next(1_020_000);
    const late = t.next(1_540_000);
    expect(late.seq).toBe(2);
    expect(late.captureTsUs).toBe(1_520_000);
    expect(t.reanchored).toBe(1);
  });
});
