/// <reference lib="dom" />
import { describe, expect, it } from 'vitest';
import { frameCapturedAtMs, framePresentedAtMs, type AudioClockReading } from './audio-clock.ts';

const ORIGIN = 1_700_000_000_000;

function reading(over: Partial<AudioClockReading> = {}): AudioClockReading {
  // Frame 48 000 (1 s of context time) is presented at performance time 5 000 ms.
  return { sampleRate: 48_000, output: { contextTime: 1, performanceTime: 5_000 }, timeOrigin: ORIGIN, performanceNow: 5_030, currentTime: 1.04, renderToOutputS: 0.02, ...over };
}

describe('the audio clock', () => {
  it('places a frame by its distance in samples from the output timestamp, not by when it is asked', () => {
    expect(framePresentedAtMs(reading(), 48_000)).toBe(ORIGIN + 5_000);
    expect(framePresentedAtMs(reading(), 48_000 + 960)).toBeCloseTo(ORIGIN + 5_020, 6);
    // Asked 300 ms later (a busy main thread), with a newer timestamp of the same clock: the same time.
    const later = reading({ output: { contextTime: 1.3, performanceTime: 5_300 }, performanceNow: 5_330, currentTime: 1.34 });
    expect(framePresentedAtMs(later, 48_000 + 960)).toBeCloseTo(ORIGIN + 5_020, 6);
  });

  it('a captured sample is older than its frame\'s presentation by the render-to-output and input latencies', () => {
    expect(frameCapturedAtMs(reading(), 48_000, 0.01)).toBeCloseTo(ORIGIN + 5_000 - 20 - 10, 6);
    expect(frameCapturedAtMs(reading({ renderToOutputS: 0 }), 48_000, 0)).toBe(ORIGIN + 5_000);
  });

  it('before the context renders to a device, the render clock stands in', () => {
    const r = reading({ output: { contextTime: 0, performanceTime: 0 } });
    // Frame 1.04 s is being rendered now (5 030 ms); it is presented one output latency later.
    expect(framePresentedAtMs(r, 1.04 * 48_000)).toBeCloseTo(ORIGIN + 5_050, 6);
    expect(frameCapturedAtMs(r, 1.04 * 48_000, 0)).toBeCloseTo(ORIGIN + 5_030, 6);
  });
});
