import { describe, expect, it } from 'vitest';
import type { SpeechSignal } from './speech-detector.ts';
import { TurnDetector, type TurnSignal } from './turn-detector.ts';

const ms = (v: number) => v * 1000;
/** Speech from `from` to `to` ms (confirmed at once), as the speech detector reports it. */
const speech = (from: number, to: number): SpeechSignal[] => [
  { type: 'onset', atUs: ms(from) },
  { type: 'confirmed', speechStartUs: ms(from), atUs: ms(from + 250), inferenceMs: 0 },
  { type: 'voiced', atUs: ms(to) },
];
const pause = (end: number, at: number): SpeechSignal => ({ type: 'pause', speechEndUs: ms(end), endSource: 'energy', atUs: ms(at) });
const segmentEnd = (end: number, at: number): SpeechSignal => ({ type: 'end', speechStartUs: 0, speechEndUs: ms(end), endSource: 'energy', atUs: ms(at), inferenceMs: 0 });
const frame = (at: number): SpeechSignal => ({ type: 'frame', atUs: ms(at), probability: 0 });
const types = (s: TurnSignal[]) => s.map((x) => x.type);

describe('TurnDetector endpointing', () => {
  it('speculative: a pause is reported, voice after it takes it back, and the fixed silence still ends the turn', () => {
    const d = new TurnDetector(() => 't1', { endpointing: 'speculative', endOfTurnSilenceMs: 700 });
    expect(types(d.onSignals(speech(0, 1000)))).toEqual(['turn.start']);
    expect(d.onSignals([pause(1000, 1250)])).toMatchObject([{ type: 'turn.pause', turnId: 't1', speechEndUs: ms(1000), silenceMs: 250 }]);
    expect(d.onSignals([{ type: 'voiced', atUs: ms(1300) }])).toMatchObject([{ type: 'turn.resume', turnId: 't1' }]);
    expect(types(d.onSignals([{ type: 'voiced', atUs: ms(2000) }, pause(2000, 2250)]))).toEqual(['turn.pause']);
    expect(d.onSignals([segmentEnd(2000, 2300), frame(2650)])).toEqual([]);
    expect(d.onSignals([frame(2700)])).toMatchObject([{ type: 'turn.end', speechEndUs: ms(2000), silenceMs: 700 }]);
  });

  it('fixed: pauses are never reported', () => {
    const d = new TurnDetector(() => 't1', { endpointing: 'fixed' });
    d.onSignals(speech(0, 1000));
    expect(d.onSignals([pause(1000, 1250)])).toEqual([]);
  });

  it('adaptive: the silence follows the user\'s pauses, between its bounds', () => {
    const d = new TurnDetector(() => 't', { endpointing: 'adaptive', endOfTurnSilenceMs: 700, adaptiveMinMs: 400, adaptiveMaxMs: 1500, adaptiveMarginMs: 250 });
    expect(d.endOfTurnSilenceMs).toBe(700); // nothing learnt yet
    d.onSignals(speech(0, 1000));
    // Short pauses inside the turn: 150 ms each.
    for (let t = 1000; t < 3000; t += 500) d.onSignals([pause(t, t + 100), { type: 'voiced', atUs: ms(t + 150) }, { type: 'voiced', atUs: ms(t + 500) }]);
    expect(d.endOfTurnSilenceMs).toBe(400); // 150 + 250, under the minimum
    // A user who stops for 900 ms mid-thought: the turn ended, and they went on right after.
    expect(types(d.onSignals([segmentEnd(3000, 3300), frame(3400)]))).toEqual(['turn.end']); // 400 ms, the learnt silence
    for (let i = 0; i < 5; i++) {
      const t = 3900 + i * 2000;
      d.onSignals(speech(t, t + 600));
      d.onSignals([segmentEnd(t + 600, t + 900)]);
      d.onSignals([frame(t + 600 + d.endOfTurnSilenceMs)]);
    }
    expect(d.endOfTurnSilenceMs).toBeGreaterThan(1000);
    expect(d.endOfTurnSilenceMs).toBeLessThanOrEqual(1500);
  });
});
