/// <reference lib="dom" />
import { describe, expect, it } from 'vitest';
import { CaptureTimeline } from './capture-timeline.ts';

describe('CaptureTimeline', () => {
  it('is anchored on the first chunk\'s own capture time and advances exactly one chunk per chunk', () => {
    const t = new CaptureTimeline();
    const base = 1_700_000_000_000_000;
    // The audio clock's times for five chunks, a few ms of jitter in reading the clock.
    const got = [0, 21_000, 38_500, 61_000, 79_200].map((d) => t.next(base + d));
    expect(got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((g) => g.captureTsUs - base)).toEqual([0, 20_000, 40_000, 60_000, 80_000]);
    expect(t.firstCaptureTsUs).toBe(base);
    expect(t.reanchored).toBe(0);
  });

  it('a throttled tab that gets ten chunks at once still has them one chunk apart from their true start', () => {
    const t = new CaptureTimeline();
    const base = 1_700_000_000_000_000;
    // Chunks carry their capture times however late they arrive: nothing to re-anchor.
    const got = Array.from({ length: 10 }, (_, i) => t.next(base + i * 20_000 + 150));
    expect(got.at(-1)!.captureTsUs).toBe(base + 150 + 9 * 20_000);
    expect(t.reanchored).toBe(0);
  });

  it('re-anchors when the capture times jump by more than 200 ms, keeping the sequence', () => {
    const t = new CaptureTimeline();
    t.next(1_000_000);
    t.next(1_020_000);
    // 199 ms off the count: still the count's time.
    expect(t.next(1_040_000 + 199_000).captureTsUs).toBe(1_040_000);
    expect(t.reanchored).toBe(0);
    // A restarted microphone: its next chunk starts 500 ms later than the count says.
    const late = t.next(1_560_000);
    expect(late.seq).toBe(3);
    expect(late.captureTsUs).toBe(1_560_000);
    expect(t.reanchored).toBe(1);
    expect(t.next(1_580_000).captureTsUs).toBe(1_580_000);
  });
});
