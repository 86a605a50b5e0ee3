import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '@voicebus/runtime';
import type { AudioChunk } from '@voicebus/protocol';
import wavefile from 'wavefile';
import { createVadEngine } from './engines/create-engine.ts';
import type { VadEngineName } from './engines/vad-engine.ts';
import { SpeechDetector, type SpeechDetectorOptions } from './speech-detector.ts';
import { TurnDetector, type TurnDetectorOptions, type TurnSignal } from './turn-detector.ts';

/**
 * Publishes `pcm` on the device's `audio.in` as capture would: 20 ms chunks (the last padded
 * with silence), stamped on the audio's own timeline from `originUs`, numbered from `seqFrom`.
 * Returns the number the next chunk would have.
 */
export function publishChunks(bus: Pick<Bus, 'publishAudio'>, deviceId: string, pcm: Int16Array, originUs: number, seqFrom = 0): number {
  let seq = seqFrom;
  for (let i = 0; i < pcm.length; i += 320, seq++) {
    const chunk = new Int16Array(320);
    chunk.set(pcm.subarray(i, i + 320));
    bus.publishAudio(deviceId, 'audio.in', { seq, captureTsUs: originUs + (i / 16) * 1000, sampleRate: 16000, channels: 1, pcm: chunk });
  }
  return seq;
}

/** PCM as capture sends it: 20 ms chunks numbered from `seqFrom`, stamped from `originUs`. */
export function chunksOf(pcm: Int16Array, originUs: number, seqFrom = 0): AudioChunk[] {
  const chunks: AudioChunk[] = [];
  for (let i = 0, n = 0; i + 320 <= pcm.length; i += 320, n++) chunks.push({ seq: seqFrom + n, captureTsUs: originUs + n * 20_000, sampleRate: 16000, channels: 1, pcm: pcm.slice(i, i + 320) });
  return chunks;
}

export const FIXTURES_DIR = join(import.meta.dirname, '../../../test/fixtures/speech');

export interface FixtureTruth {
  file: string;
  durationMs: number;
  turns: number;
  segments: { startMs: number; endMs: number; turn: number; utterance: string }[];
}

export function loadFixture(name: string): { pcm: Int16Array; truth: FixtureTruth } {
  const truth = JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), 'utf8')) as FixtureTruth;
  const wav = new wavefile.WaveFile(readFileSync(join(FIXTURES_DIR, `${name}.wav`)));
  return { pcm: wav.getSamples(false, Int16Array) as unknown as Int16Array, truth };
}

/** The true turns of a fixture: first start and last end of the segments of each turn. */
export function trueTurns(truth: FixtureTruth): { startMs: number; endMs: number }[] {
  const byTurn = new Map<number, { startMs: number; endMs: number }>();
  for (const s of truth.segments) {
    const t = byTurn.get(s.turn);
    byTurn.set(s.turn, t ? { startMs: Math.min(t.startMs, s.startMs), endMs: Math.max(t.endMs, s.endMs) } : { startMs: s.startMs, endMs: s.endMs });
  }
  return [...byTurn.values()].sort((a, b) => a.startMs - b.startMs);
}

export interface DetectedTurn {
  turnId: string;
  startMs: number;
  endMs: number;
  /** Audio-timeline delay of the decisions: confirmation after true start, end decision after last voice. */
  startDecidedMs: number;
  endDecidedMs: number;
}

/**
 * Runs a fixture through the detector as the VAD actor would (20 ms chunks, timestamps on the
 * fixture's own timeline starting at 0) and returns the turns it found.
 */
export async function detectFixture(
  name: string,
  engineName: VadEngineName,
  options: { speech?: Partial<SpeechDetectorOptions>; turn?: Partial<TurnDetectorOptions>; sampleRate?: number; pcm?: Int16Array } = {},
): Promise<{ turns: DetectedTurn[]; onsets: number[]; pauses: { turnId: string; speechEndMs: number; atMs: number }[]; resumes: { turnId: string; atMs: number }[]; framesPerSecond: number }> {
  const { pcm: original } = loadFixture(name);
  const pcm = options.pcm ?? original;
  const rate = options.sampleRate ?? 16000;
  const engine = await createVadEngine(engineName);
  const speech = new SpeechDetector(engine, options.speech);
  let n = 0;
  const turnDetector = new TurnDetector(() => `t${++n}`, options.turn);
  const chunk = (rate * 20) / 1000;
  const turns: DetectedTurn[] = [];
  const open = new Map<string, { startMs: number; decidedMs: number }>();
  const onsets: number[] = [];
  const pauses: { turnId: string; speechEndMs: number; atMs: number }[] = [];
  const resumes: { turnId: string; atMs: number }[] = [];
  const t0 = performance.now();
  let frames = 0;
  const collect = (signals: TurnSignal[], atUs: number) => {
    for (const s of signals) {
      if (s.type === 'turn.start') open.set(s.turnId, { startMs: s.speechStartUs / 1000, decidedMs: atUs / 1000 });
      else if (s.type === 'turn.pause') pauses.push({ turnId: s.turnId, speechEndMs: s.speechEndUs / 1000, atMs: s.atUs / 1000 });
      else if (s.type === 'turn.resume') resumes.push({ turnId: s.turnId, atMs: s.atUs / 1000 });
      else {
        const o = open.get(s.turnId)!;
        turns.push({ turnId: s.turnId, startMs: o.startMs, endMs: s.speechEndUs / 1000, startDecidedMs: o.decidedMs - o.startMs, endDecidedMs: atUs / 1000 - s.speechEndUs / 1000 });
      }
    }
  };
  for (let i = 0; i < pcm.length; i += chunk) {
    const ts = Math.round((i / rate) * 1e6);
    const signals = await speech.push(pcm.subarray(i, i + chunk), ts, rate);
    for (const s of signals) if (s.type === 'onset') onsets.push(s.atUs / 1000);
    frames += signals.filter((s) => s.type === 'frame').length;
    const last = signals.filter((s) => s.type === 'frame').at(-1)?.atUs ?? ts;
    collect(turnDetector.onSignals(signals), last);
  }
  const endUs = Math.round((pcm.length / rate) * 1e6);
  collect(turnDetector.onSignals(speech.finish(endUs)), endUs);
  collect(turnDetector.finish(undefined), endUs);
  speech.close();
  return { turns, onsets, pauses, resumes, framesPerSecond: frames / ((performance.now() - t0) / 1000) };
}
