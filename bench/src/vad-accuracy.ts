import { detectFixture, loadFixture, trueTurns } from '@voicebus/vad/internal';
import type { VadEngineName } from '@voicebus/vad/internal';

export const ACCURACY_FIXTURES = ['single-hello', 'single-weather', 'single-fast', 'pause-300ms', 'three-turns-2s', 'noisy-speech', 'noise', 'silence', 'conversation', 'barge-in'];

export interface EngineAccuracy {
  engine: VadEngineName;
  fixtures: number;
  turnCountCorrect: number;
  /** Mean absolute error of turn starts and ends against the measured truth (ms). */
  startErrorMs: number;
  endErrorMs: number;
  maxBoundaryErrorMs: number;
  /** Audio-timeline delay from true speech start to confirmed speech (turn.start decision). */
  startDecisionMs: number;
  /** Audio-timeline delay from true speech start to the first voiced frame (barge-in onset). */
  onsetDelayMs: number;
}

/** Every engine on every fixture: turn counts, boundary errors and detection delays. */
export async function benchVadAccuracy(engines: VadEngineName[]): Promise<EngineAccuracy[]> {
  const out: EngineAccuracy[] = [];
  for (const engine of engines) {
    let correct = 0;
    const starts: number[] = [];
    const ends: number[] = [];
    const decisions: number[] = [];
    const onsets: number[] = [];
    for (const name of ACCURACY_FIXTURES) {
      const truth = trueTurns(loadFixture(name).truth);
      // The energy engine with the seed's defaults (start 0.2 s, stop 0.8 s, min volume 0.01).
      const r = await detectFixture(name, engine, engine === 'energy' ? { speech: { minSpeechMs: 200, redemptionMs: 800, minVolume: 0.01 } } : {});
      if (r.turns.length === truth.length) correct++;
      r.turns.forEach((t, i) => {
        const tr = truth[i];
        if (!tr) return;
        starts.push(Math.abs(t.startMs - tr.startMs));
        ends.push(Math.abs(t.endMs - tr.endMs));
        decisions.push(t.startMs + t.startDecidedMs - tr.startMs);
        const onset = r.onsets.find((o) => o >= tr.startMs - 200);
        if (onset !== undefined) onsets.push(onset - tr.startMs + 32);
      });
    }
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    out.push({
      engine,
      fixtures: ACCURACY_FIXTURES.length,
      turnCountCorrect: correct,
      startErrorMs: mean(starts),
      endErrorMs: mean(ends),
      maxBoundaryErrorMs: Math.max(...starts, ...ends),
      startDecisionMs: mean(decisions),
      onsetDelayMs: mean(onsets),
    });
  }
  return out;
}
