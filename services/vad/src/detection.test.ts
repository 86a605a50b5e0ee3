import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';
import { describe, expect, it } from 'vitest';
import { createVadEngine } from './engines/create-engine.ts';
import { detectFixture, FIXTURES_DIR, loadFixture, trueTurns } from './fixture-runner.ts';
import { SpeechDetector } from './speech-detector.ts';

const SPEECH_FIXTURES = ['single-hello', 'single-weather', 'single-fast', 'pause-300ms', 'three-turns-2s', 'noisy-speech', 'conversation', 'barge-in'];
const TOLERANCE_MS = 150;

describe('speech and turn detection on the fixtures', () => {
  it.each(SPEECH_FIXTURES)('silero-v6 (default) finds the turns of %s within 150 ms', async (name) => {
    const truth = trueTurns(loadFixture(name).truth);
    const { turns } = await detectFixture(name, 'silero-v6');
    expect(turns.length).toBe(truth.length);
    turns.forEach((t, i) => {
      expect(Math.abs(t.startMs - truth[i]!.startMs)).toBeLessThan(TOLERANCE_MS);
      expect(Math.abs(t.endMs - truth[i]!.endMs)).toBeLessThan(TOLERANCE_MS);
    });
  });

  it.each(['single-hello', 'pause-300ms', 'three-turns-2s', 'conversation'])('silero-v5 finds the turns of %s within 150 ms', async (name) => {
    const truth = trueTurns(loadFixture(name).truth);
    const { turns } = await detectFixture(name, 'silero-v5');
    expect(turns.map((t) => [Math.abs(t.startMs - truth[turns.indexOf(t)]!.startMs) < TOLERANCE_MS, Math.abs(t.endMs - truth[turns.indexOf(t)]!.endMs) < TOLERANCE_MS])).toEqual(truth.map(() => [true, true]));
  });

  it.each(['noisy-conversation', 'noisy-speech', 'conversation', 'three-turns-2s', 'pause-300ms'])('%s: the speech end is where the voice ends (within 30 ms), where Silero\'s last voiced frame trails it', async (name) => {
    const truth = trueTurns(loadFixture(name).truth);
    const { turns } = await detectFixture(name, 'silero-v6');
    expect(turns).toHaveLength(truth.length);
    turns.forEach((t, i) => expect(Math.abs(t.endMs - truth[i]!.endMs), `turn ${i + 1}`).toBeLessThan(30));
    if (name !== 'noisy-conversation') return;
    // What it replaces: over a noise floor the model's probability decays late (60-110 ms here).
    const vad = await detectFixture(name, 'silero-v6', { speech: { speechEnd: 'vad' } });
    vad.turns.forEach((t, i) => expect(t.endMs - truth[i]!.endMs).toBeGreaterThan(50));
  });

  it('silero-legacy counts the turns right', async () => {
    for (const name of ['three-turns-2s', 'pause-300ms', 'conversation']) {
      const { turns } = await detectFixture(name, 'silero-legacy');
      expect(turns.length).toBe(loadFixture(name).truth.turns);
    }
  });

  it('a 300 ms pause inside a sentence does not end the turn, but a shorter end-of-turn silence does', async () => {
    expect((await detectFixture('pause-300ms', 'silero-v6')).turns).toHaveLength(1);
    // 200 ms from the voice's real end splits at the pause (and at some word gaps).
    expect((await detectFixture('pause-300ms', 'silero-v6', { turn: { endOfTurnSilenceMs: 200 }, speech: { redemptionMs: 100 } })).turns.length).toBeGreaterThanOrEqual(2);
  });

  it.each(['noise', 'silence'])('%s gives no turns with Silero', async (name) => {
    expect((await detectFixture(name, 'silero-v6')).turns).toEqual([]);
    expect((await detectFixture(name, 'silero-v5')).turns).toEqual([]);
  });

  it('the energy engine works on clean speech (and, as expected, not in noise)', async () => {
    const truth = trueTurns(loadFixture('three-turns-2s').truth);
    const { turns } = await detectFixture('three-turns-2s', 'energy', { speech: { minSpeechMs: 200, redemptionMs: 300 } });
    expect(turns).toHaveLength(truth.length);
    expect((await detectFixture('silence', 'energy')).turns).toEqual([]);
  });

  it('end-of-turn is decided about the configured silence after the last voiced audio', async () => {
    const { turns } = await detectFixture('three-turns-2s', 'silero-v6');
    for (const t of turns) {
      expect(t.endDecidedMs).toBeGreaterThanOrEqual(700);
      expect(t.endDecidedMs).toBeLessThan(700 + 2 * 32 + 1);
    }
  });

  it('resamples a device that sends 48 kHz and finds the same turns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vad-48k-'));
    const out = join(dir, 'in48.wav');
    execFileSync('sox', [join(FIXTURES_DIR, 'three-turns-2s.wav'), '-r', '48000', out]);
    const pcm = new wavefile.WaveFile(readFileSync(out)).getSamples(false, Int16Array) as unknown as Int16Array;
    const truth = trueTurns(loadFixture('three-turns-2s').truth);
    const { turns } = await detectFixture('three-turns-2s', 'silero-v6', { pcm, sampleRate: 48000 });
    expect(turns).toHaveLength(truth.length);
    turns.forEach((t, i) => expect(Math.abs(t.startMs - truth[i]!.startMs)).toBeLessThan(TOLERANCE_MS));
  });

  it('garbage audio does not break the detector', async () => {
    const engine = await createVadEngine('silero-v6');
    const d = new SpeechDetector(engine);
    await d.push(new Int16Array(320).fill(-32768), 0, 16000); // 0x8000 everywhere
    await d.push(new Int16Array(16000).map(() => (Math.random() * 65536 - 32768) | 0), 20_000, 16000);
    await d.push(new Int16Array(0), 1_020_000, 16000);
    await d.push(new Int16Array(1), 1_020_000, 16000);
    // Still detects speech afterwards.
    const { pcm } = loadFixture('single-hello');
    const signals = [];
    for (let i = 0; i < pcm.length; i += 320) signals.push(...await d.push(pcm.subarray(i, i + 320), 2_000_000 + i * 62.5, 16000));
    expect(signals.some((s) => s.type === 'confirmed')).toBe(true);
  });
});
