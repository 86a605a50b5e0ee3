/// <reference lib="dom" />
import { describe, expect, it } from 'vitest';
import { Resampler, toPcm16 } from './resampler.ts';

function sine(rate: number, hz: number, seconds: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
}

function rms(x: Float32Array): number {
  return Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
}

/** Streams `input` through in blocks of 128, as an AudioWorklet sees it. */
function stream(r: Resampler, input: Float32Array): Float32Array {
  const parts: number[] = [];
  for (let i = 0; i < input.length; i += 128) parts.push(...r.push(input.subarray(i, i + 128)));
  return Float32Array.from(parts);
}

describe('Resampler', () => {
  it('48 kHz to 16 kHz keeps a 1 kHz tone: one output sample per three in, same level', () => {
    const out = stream(new Resampler(48_000, 16_000), sine(48_000, 1000, 1));
    expect(Math.abs(out.length - 16_000)).toBeLessThan(40);
    const steady = out.subarray(200, 15_800);
    expect(rms(steady)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    // The tone is where it was: 16 samples per period at 16 kHz, 975 periods in 15 600 samples.
    let crossings = 0;
    for (let i = 1; i < steady.length; i++) if (steady[i - 1]! < 0 && steady[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(974);
    expect(crossings).toBeLessThanOrEqual(976);
  });

  it('removes what 16 kHz cannot carry instead of folding it down (12 kHz tone)', () => {
    const out = stream(new Resampler(48_000, 16_000), sine(48_000, 12_000, 0.5));
    expect(rms(out.subarray(200))).toBeLessThan(0.01);
  });

  it('any rate pair: 44.1 kHz to 16 kHz has the right length', () => {
    const out = stream(new Resampler(44_100, 16_000), sine(44_100, 440, 2));
    expect(Math.abs(out.length - 32_000)).toBeLessThan(40);
  });

  it('PCM16 conversion clips instead of wrapping', () => {
    expect([...toPcm16(Float32Array.from([0, 1, -1, 2, -2, 0.5]))]).toEqual([0, 32767, -32768, 32767, -32768, 16384]);
  });
});
