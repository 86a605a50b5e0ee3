import { describe, expect, it } from 'vitest';
import { loadFixture } from '../fixture-runner.ts';
import { createVadEngine } from './create-engine.ts';
import { SILERO_V5_CONTEXT, SILERO_V5_FRAME, type SileroV5Stream } from './silero-v5-engine.ts';
import { VAD_ENGINES, type VadEngine } from './vad-engine.ts';

function frames(engine: VadEngine, pcm: Int16Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i + engine.frameSamples <= pcm.length; i += engine.frameSamples) {
    out.push(Float32Array.from(pcm.subarray(i, i + engine.frameSamples), (s) => s / 32768));
  }
  return out;
}

async function probabilities(engine: VadEngine, pcm: Int16Array): Promise<number[]> {
  const stream = engine.createStream();
  const out: number[] = [];
  for (const f of frames(engine, pcm)) out.push(await stream.process(f));
  return out;
}

describe('VAD engines', () => {
  const { pcm, truth } = loadFixture('single-hello');
  const seg = truth.segments[0]!;
  const speech = pcm.subarray((seg.startMs + 200) * 16, (seg.endMs - 200) * 16);
  const silence = new Int16Array(16000);

  it.each(VAD_ENGINES)('%s: high probability on speech, low on silence', async (name) => {
    const engine = await createVadEngine(name);
    const onSpeech = await probabilities(engine, speech);
    const onSilence = await probabilities(engine, silence);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(onSpeech)).toBeGreaterThan(0.6);
    expect(Math.max(...onSilence)).toBeLessThan(0.2);
  });

  it('shares one model per process: the same engine object every time', async () => {
    expect(await createVadEngine('silero-v5')).toBe(await createVadEngine('silero-v5'));
  });

  it('v5/v6 prepend the previous frame\'s last 64 samples as context', async () => {
    const engine = await createVadEngine('silero-v5');
    const stream = engine.createStream() as SileroV5Stream;
    const [a, b] = frames(engine, speech);
    await stream.process(a!);
    expect(stream.lastInput!.length).toBe(SILERO_V5_CONTEXT + SILERO_V5_FRAME);
    expect(Array.from(stream.lastInput!.subarray(0, SILERO_V5_CONTEXT))).toEqual(new Array(SILERO_V5_CONTEXT).fill(0));
    await stream.process(b!);
    expect(Array.from(stream.lastInput!.subarray(0, SILERO_V5_CONTEXT))).toEqual(Array.from(a!.subarray(SILERO_V5_FRAME - SILERO_V5_CONTEXT)));
    expect(Array.from(stream.lastInput!.subarray(SILERO_V5_CONTEXT))).toEqual(Array.from(b!));
    stream.reset();
    await stream.process(b!);
    expect(Array.from(stream.lastInput!.subarray(0, SILERO_V5_CONTEXT))).toEqual(new Array(SILERO_V5_CONTEXT).fill(0));
  });

  it('device streams are independent: interleaving two streams gives each the same result as alone', async () => {
    const engine = await createVadEngine('silero-v6');
    const alone = await probabilities(engine, speech);
    const s1 = engine.createStream();
    const s2 = engine.createStream();
    const f1 = frames(engine, speech);
    const f2 = frames(engine, silence);
    const p1: number[] = [];
    for (let i = 0; i < f1.length; i++) {
      p1.push(await s1.process(f1[i]!));
      await s2.process(f2[i % f2.length]!);
    }
    expect(p1).toEqual(alone);
  });
});
