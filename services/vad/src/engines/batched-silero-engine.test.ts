import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../fixture-runner.ts';
import { SpeechDetector } from '../speech-detector.ts';
import { TurnDetector, type TurnSignal } from '../turn-detector.ts';
import { createBatchedSileroEngine } from './batched-silero-engine.ts';
import { createVadEngine } from './create-engine.ts';
import type { VadEngine } from './vad-engine.ts';

const FIXTURES = ['single-hello', 'single-weather', 'single-fast', 'pause-300ms', 'three-turns-2s', 'conversation', 'two-turns', 'barge-in', 'blip', 'noisy-speech', 'noise', 'silence'];

interface Boundaries {
  turns: string[];
  probabilities: number[];
}

/** One device: a fixture in 20 ms chunks through the detector and the turn detector, as the VAD actor runs them. */
async function device(engine: VadEngine, name: string): Promise<Boundaries> {
  const { pcm } = loadFixture(name);
  const speech = new SpeechDetector(engine);
  let n = 0;
  const turnDetector = new TurnDetector(() => `t${++n}`);
  const turns: string[] = [];
  const probabilities: number[] = [];
  const collect = (signals: TurnSignal[]) => {
    for (const s of signals) if (s.type === 'turn.start' || s.type === 'turn.end') turns.push(s.type === 'turn.start' ? `start ${s.speechStartUs}` : `end ${s.speechStartUs}-${s.speechEndUs}`);
  };
  for (let i = 0; i < pcm.length; i += 320) {
    const signals = await speech.push(pcm.subarray(i, i + 320), i * 62.5, 16000);
    for (const s of signals) if (s.type === 'frame') probabilities.push(s.probability);
    collect(turnDetector.onSignals(signals));
  }
  collect(turnDetector.onSignals(speech.finish(pcm.length * 62.5)));
  collect(turnDetector.finish(undefined));
  speech.close();
  return { turns, probabilities };
}

describe('batched Silero (real model, every speech fixture at once)', () => {
  it.each([['silero-v6', 'worker'], ['silero-v5', 'worker'], ['silero-v6', 'main']] as const)('%s, model on the %s thread: every device gets the same turn boundaries and probabilities as unbatched, in shared calls', async (name, thread) => {
    const alone: Boundaries[] = [];
    const unbatched = await createVadEngine(name);
    for (const f of FIXTURES) alone.push(await device(unbatched, f));

    // All fixtures at once, twice over (24 devices), so calls really carry several devices' frames.
    const batched = await createBatchedSileroEngine(name, { maxBatch: 16, thread });
    const together = await Promise.all([...FIXTURES, ...FIXTURES].map((f) => device(batched, f)));

    together.forEach((got, i) => {
      const want = alone[i % FIXTURES.length]!;
      expect(got.turns, FIXTURES[i % FIXTURES.length]).toEqual(want.turns);
      expect(got.probabilities).toEqual(want.probabilities);
    });
    // The fixtures have turns at all (a detector that finds nothing would agree with itself).
    expect(alone.reduce((s, b) => s + b.turns.length, 0)).toBeGreaterThan(20);
    const { calls, frames, largestBatch } = batched.batcher.stats;
    expect(largestBatch).toBeGreaterThan(1);
    expect(largestBatch).toBeLessThanOrEqual(16);
    expect(calls).toBeLessThan(frames / 4);
    // The calls really ran where the option says: the worker is another thread than this one.
    if (thread === 'worker') expect(batched.batcher.stats.threadId).not.toBe(threadId);
    else expect(batched.batcher.stats.threadId).toBe(threadId);
    await batched.batcher.inference.close();
  });

  it('a dead model worker fails its streams\' frames instead of leaving them waiting', async () => {
    const engine = await createBatchedSileroEngine('silero-v6');
    const stream = engine.createStream();
    expect(await stream.process(new Float32Array(512))).toBeLessThan(0.5);
    await engine.batcher.inference.close();
    await expect(stream.process(new Float32Array(512))).rejects.toThrow(/closed|exited/);
  });

  it('a stream\'s reset clears its state and context, as unbatched', async () => {
    const { pcm } = loadFixture('single-hello');
    const frames: Float32Array[] = [];
    for (let i = 0; i + 512 <= pcm.length; i += 512) frames.push(Float32Array.from(pcm.subarray(i, i + 512), (s) => s / 32768));
    const batched = (await createBatchedSileroEngine('silero-v6')).createStream();
    const plain = (await createVadEngine('silero-v6')).createStream();
    for (const f of frames.slice(20, 40)) expect(await batched.process(f)).toBe(await plain.process(f));
    batched.reset();
    plain.reset();
    for (const f of frames.slice(0, 10)) expect(await batched.process(f)).toBe(await plain.process(f));
  });
});
