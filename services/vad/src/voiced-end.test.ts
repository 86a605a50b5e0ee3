import { describe, expect, it } from 'vitest';
import { VoicedEnd } from './voiced-end.ts';

const RATE = 16000;
/** A 512-sample frame of constant amplitude (a square wave of that RMS). */
const frame = (rms: number) => Float32Array.from({ length: 512 }, (_, i) => (i % 2 ? rms : -rms));
const FRAME_US = 32_000;

describe('VoicedEnd', () => {
  it('learns the noise floor from quiet frames and moves the end back to the last window above it', () => {
    const v = new VoicedEnd(RATE, { marginDb: 6 });
    let t = 0;
    for (let i = 0; i < 50; i++, t += FRAME_US) v.push(frame(0.01), t, true); // noise floor 0.01
    const speechStartUs = t;
    for (let i = 0; i < 20; i++, t += FRAME_US) v.push(frame(0.1), t, false); // voice
    const voiceEndUs = t;
    for (let i = 0; i < 5; i++, t += FRAME_US) v.push(frame(0.015), t, false); // the model still says "speech"
    expect(v.floor).toBeCloseTo(0.01);
    expect(v.refine(t, speechStartUs)).toEqual({ endUs: voiceEndUs, source: 'energy' });
  });

  it('never moves the end later than the model\'s, nor before the speech start or the look-back', () => {
    const v = new VoicedEnd(RATE, { maxLookbackMs: 100 });
    let t = 0;
    for (let i = 0; i < 10; i++, t += FRAME_US) v.push(frame(0.1), t, false);
    const quietFrom = t;
    for (let i = 0; i < 10; i++, t += FRAME_US) v.push(frame(0), t, false);
    // The loud audio is more than 100 ms before the model's end: nothing to refine to.
    expect(v.refine(t, 0)).toEqual({ endUs: t, source: 'vad' });
    // An end inside the loud part stays where the model put it (a window ends exactly there).
    expect(v.refine(quietFrom, 0)).toEqual({ endUs: quietFrom, source: 'energy' });
    expect(v.refine(quietFrom, quietFrom).source).toBe('vad');
  });

  it('digital silence has no floor: the absolute minimum decides', () => {
    const v = new VoicedEnd(RATE, { minRms: 0.002 });
    let t = 0;
    for (let i = 0; i < 10; i++, t += FRAME_US) v.push(frame(0), t, true);
    expect(v.floor).toBe(0);
    expect(v.threshold).toBe(0.002);
    for (let i = 0; i < 5; i++, t += FRAME_US) v.push(frame(0.001), t, false);
    expect(v.refine(t, 0).source).toBe('vad');
  });
});
