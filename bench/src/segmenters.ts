import type { Segment, SegmenterRun, Segmenter } from './segmenter-types.ts';
export type { Segment, SegmenterRun, Segmenter } from './segmenter-types.ts';
import { SpeechDetector, TurnDetector, createVadEngine, createBatchedSileroEngine, type VadEngine, type VadEngineName } from '@voicebus/vad/internal';

/** The energy engine with the seed's defaults (start 0.2 s, stop 0.8 s, min volume 0.01). */
const ENERGY_SPEECH = { minSpeechMs: 200, redemptionMs: 800, minVolume: 0.01 };

async function runVoicebus(engine: VadEngine, pcm: Int16Array, energy: boolean): Promise<SegmenterRun> {
  const speech = new SpeechDetector(engine, energy ? ENERGY_SPEECH : {});
  let n = 0;
  const turns = new TurnDetector(() => `t${++n}`);
  const open = new Map<string, number>();
  const segments: Segment[] = [];
  let frames = 0;
  const collect = (signals: ReturnType<TurnDetector['onSignals']>) => {
    for (const s of signals) {
      if (s.type === 'turn.start') open.set(s.turnId, s.speechStartUs / 1000);
      else if (s.type === 'turn.end') segments.push({ startMs: open.get(s.turnId) ?? s.speechStartUs / 1000, endMs: s.speechEndUs / 1000 });
    }
  };
  for (let i = 0; i < pcm.length; i += 320) {
    const signals = await speech.push(pcm.subarray(i, i + 320), i * 62.5, 16000);
    for (const s of signals) if (s.type === 'frame') frames++;
    collect(turns.onSignals(signals));
  }
  collect(turns.onSignals(speech.finish(pcm.length * 62.5)));
  collect(turns.finish(undefined));
  speech.close();
  return { segments, frames };
}

export async function voicebusSegmenter(name: VadEngineName, batched = false): Promise<Segmenter> {
  const engine = batched && (name === 'silero-v5' || name === 'silero-v6') ? await createBatchedSileroEngine(name) : await createVadEngine(name);
  return {
    name: batched ? `voicebus ${name} batched` : `voicebus ${name}`,
    describe: 'turns: 700 ms end-of-turn silence',
    frameMs: (engine.frameSamples / 16000) * 1000,
    concurrent: batched,
    run: (pcm) => runVoicebus(engine, pcm, name === 'energy'),
  };
}

