import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// No import of @voicebus/vad here: the peers' processes load this file and must not load
// voicebus's onnxruntime-node build before their own.
const CLEAN_DIR = resolve(import.meta.dirname, '../../test/fixtures/speech');
const NOISY_DIR = resolve(import.meta.dirname, '../fixtures/noisy');

/** The level of the pink noise floor under every noisy fixture (bench/fixtures/generate.sh). */
export const NOISE_FLOOR_DBFS = -45;

/** Silero's volume gate: frames under this RMS skip inference (SpeechDetector's minVolume default). */
const VOLUME_GATE_RMS = 0.001;

/** 16-bit mono PCM of a WAV file (the data chunk, wherever it is). */
export function readWavPcm(file: string): Int16Array {
  const buf = readFileSync(file);
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'data') {
      const pcm = new Int16Array(size >> 1);
      Buffer.from(pcm.buffer).set(buf.subarray(at + 8, at + 8 + pcm.length * 2));
      return pcm;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** The noisy fixtures are committed; a checkout without them (or a changed script) regenerates them. */
function ensureGenerated(name: string): string {
  const file = join(NOISY_DIR, `${name}.wav`);
  if (!existsSync(file)) execFileSync(join(NOISY_DIR, '..', 'generate.sh'), [String(NOISE_FLOOR_DBFS)], { stdio: 'inherit' });
  return file;
}

export function noisyWavPath(name: string): string {
  return ensureGenerated(name);
}

/**
 * A speech fixture with the noise floor under it, and the clean fixture's truth (measured on
 * the clean audio: the noise does not move where the words are).
 */
export function loadNoisyFixture(name: string): { pcm: Int16Array; truth: { startMs: number; endMs: number }[] } {
  return { pcm: readWavPcm(ensureGenerated(name)), truth: cleanTruth(name) };
}

/** A clean speech fixture's audio. */
export function loadCleanPcm(name: string): Int16Array {
  return readWavPcm(join(CLEAN_DIR, `${name}.wav`));
}

/** The true turns of a fixture: first start and last end of the segments of each turn (as fixture-runner's trueTurns). */
export function cleanTruth(name: string): { startMs: number; endMs: number }[] {
  const truth = JSON.parse(readFileSync(join(CLEAN_DIR, `${name}.json`), 'utf8')) as { segments: { startMs: number; endMs: number; turn: number }[] };
  const byTurn = new Map<number, { startMs: number; endMs: number }>();
  for (const s of truth.segments) {
    const t = byTurn.get(s.turn);
    byTurn.set(s.turn, t ? { startMs: Math.min(t.startMs, s.startMs), endMs: Math.max(t.endMs, s.endMs) } : { startMs: s.startMs, endMs: s.endMs });
  }
  return [...byTurn.values()].sort((a, b) => a.startMs - b.startMs);
}

/** Share of 512-sample frames loud enough to reach the model: near 1 for a real noise floor. */
export function inferredFrameShare(pcm: Int16Array, frame = 512): number {
  let loud = 0;
  let total = 0;
  for (let i = 0; i + frame <= pcm.length; i += frame) {
    let sum = 0;
    for (let j = i; j < i + frame; j++) sum += (pcm[j]! / 32768) ** 2;
    if (Math.sqrt(sum / frame) >= VOLUME_GATE_RMS) loud++;
    total++;
  }
  return total ? loud / total : 0;
}
