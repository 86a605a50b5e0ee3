import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import wavefile from 'wavefile';

/** A speech fixture's truth (test/fixtures/speech/*.json): its segments, measured on the clean audio. */
export interface FixtureTruth {
  turns: number;
  segments: { startMs: number; endMs: number; turn: number }[];
}

/**
 * Voice-to-voice as a microphone in the room would measure it, independent of the stack's own
 * figures: from the end of each user turn in the input (its truth; the recording starts at the
 * input's first sample) to the first audible sample of the assistant after it in the device's
 * `assistant.wav`. NaN where nothing was heard before the next turn.
 */
export function audioVoiceToVoiceMs(deviceDir: string, truth: FixtureTruth): number[] {
  const wav = new wavefile.WaveFile(readFileSync(join(deviceDir, 'assistant.wav')));
  const rate = (wav.fmt as { sampleRate: number }).sampleRate;
  const s = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  const turns = [...new Set(truth.segments.map((seg) => seg.turn))].sort((a, b) => a - b);
  const edge = (turn: number, pick: 'start' | 'end') => {
    const segs = truth.segments.filter((seg) => seg.turn === turn);
    return pick === 'end' ? Math.max(...segs.map((seg) => seg.endMs)) : Math.min(...segs.map((seg) => seg.startMs));
  };
  return turns.map((turn, i) => {
    const from = Math.round((edge(turn, 'end') / 1000) * rate);
    const next = turns[i + 1];
    const to = next === undefined ? s.length : Math.min(s.length, Math.round((edge(next, 'start') / 1000) * rate));
    for (let k = from; k < to; k++) if (s[k] !== 0) return ((k - from) / rate) * 1000;
    return NaN;
  });
}
