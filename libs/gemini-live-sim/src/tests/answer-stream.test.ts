import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from '../server.ts';
import { MANUAL, connect, inputText, kinds, outputText, speak, turnCompletes } from './client.ts';

// The realistic preset, with a short first-audio delay so the tests are quick.
let sim: GeminiLiveSim;
beforeAll(async () => {
  sim = await startGeminiLiveSim({ preset: 'realistic', firstAudioDelayMs: 20 });
});
afterAll(async () => {
  await sim?.close();
});

const audioMs = (parts: { inlineData?: { data?: string } }[]) => parts.reduce((sum, p) => sum + Buffer.from(p.inlineData?.data ?? '', 'base64').length / 48, 0);

describe('realistic answers (real @google/genai client)', () => {
  it('sends answer audio faster than real time, in parts of varying size, several parts in some messages', async () => {
    const c = await connect(sim, MANUAL);
    speak(c, 1000);
    await c.until((m) => m.some((x) => x.serverContent?.generationComplete));
    const audio = c.messages.map((m, i) => ({ parts: m.serverContent?.modelTurn?.parts ?? [], at: c.times[i]! })).filter((a) => a.parts.length > 0);
    const partMs = audio.flatMap((a) => a.parts.map((p) => audioMs([p])));
    const totalMs = partMs.reduce((a, b) => a + b, 0);
    const elapsed = audio.at(-1)!.at - audio[0]!.at;
    // Old simulator: 1x pacing (elapsed ≈ total audio) in even 40 ms single-part messages.
    expect(elapsed).toBeLessThan(totalMs / 1.8);
    expect(Math.max(...partMs) - Math.min(...partMs.slice(0, -1))).toBeGreaterThan(60);
    expect(audio.some((a) => a.parts.length > 1)).toBe(true);
    c.session.close();
  });

  it('batches the output transcript, several words a message, not in lock-step with the audio', async () => {
    const c = await connect(sim, { ...MANUAL, outputAudioTranscription: {} });
    speak(c, 1000);
    await c.until((m) => turnCompletes(m) === 1);
    const batches = c.messages.map((m) => m.serverContent?.outputTranscription?.text).filter((t): t is string => !!t);
    expect(outputText(c.messages)).toBe('You spoke for 1.0 seconds. This is answer number 1.');
    // Old simulator: one word per transcript message, each right after its audio.
    expect(batches.some((b) => b.trim().split(' ').length >= 3)).toBe(true);
    expect(batches.length).toBeLessThan(10);
    c.session.close();
  });

  it('transcribes the user incrementally, a few words during the speech, from the fixture text', async () => {
    sim.behaviour.userTranscripts = ['what is the weather like in Paris today please'];
    try {
      const c = await connect(sim, { ...MANUAL, inputAudioTranscription: {} });
      c.session.sendRealtimeInput({ activityStart: {} });
      for (let i = 0; i < 30; i++) c.session.sendRealtimeInput({ audio: { data: Buffer.alloc(3200).toString('base64'), mimeType: 'audio/pcm;rate=16000' } });
      // Old simulator: nothing until the end of the turn, then "[user speech 3.0 s]".
      await c.until((m) => m.some((x) => x.serverContent?.inputTranscription));
      const during = inputText(c.messages);
      expect(during.split(' ').length).toBeGreaterThanOrEqual(2);
      expect('what is the weather like in Paris today please'.startsWith(during)).toBe(true);
      c.session.sendRealtimeInput({ activityEnd: {} });
      await c.until((m) => m.some((x) => x.serverContent?.modelTurn));
      expect(inputText(c.messages)).toBe('what is the weather like in Paris today please');
      expect(c.messages.filter((m) => m.serverContent?.inputTranscription).length).toBeGreaterThan(1);
      c.session.close();
    } finally {
      sim.behaviour.userTranscripts = [];
    }
  });

  it('sends generationComplete well before turnComplete: the gap is the audio a real-time player still has to play', async () => {
    const c = await connect(sim, MANUAL);
    speak(c, 500);
    await c.until((m) => turnCompletes(m) === 1);
    const first = c.messages.findIndex((m) => m.serverContent?.modelTurn);
    const gen = c.messages.findIndex((m) => m.serverContent?.generationComplete);
    const done = c.messages.findIndex((m) => m.serverContent?.turnComplete);
    const totalMs = audioMs(c.messages.flatMap((m) => m.serverContent?.modelTurn?.parts ?? []));
    const gap = c.times[done]! - c.times[gen]!;
    // Old simulator: back to back (gap ≈ 0).
    expect(gap).toBeGreaterThan(500);
    expect(c.times[done]! - c.times[first]!).toBeGreaterThanOrEqual(totalMs - 50);
    c.session.close();
  });

  it('ends an interrupted turn interrupted then turnComplete, without generationComplete', async () => {
    const c = await connect(sim, MANUAL);
    speak(c, 500);
    await c.until((m) => m.some((x) => x.serverContent?.modelTurn));
    c.session.sendRealtimeInput({ activityStart: {} });
    await c.until((m) => m.some((x) => x.serverContent?.interrupted));
    const k = kinds(c.messages).filter((x) => x !== 'audio');
    expect(k.slice(k.indexOf('interrupted'))).toEqual(['interrupted', 'turnComplete']);
    expect(k).not.toContain('generationComplete');
    // In the gap (generation done, playback not): interrupted then turnComplete as well.
    speak(c, 300);
    await c.until((m) => m.some((x) => x.serverContent?.generationComplete));
    c.session.sendRealtimeInput({ activityStart: {} });
    await c.until((m) => m.filter((x) => x.serverContent?.interrupted).length === 2);
    const k2 = kinds(c.messages).filter((x) => x !== 'audio');
    expect(k2.slice(-2)).toEqual(['interrupted', 'turnComplete']);
    expect(k2.filter((x) => x === 'turnComplete').length).toBe(2);
    c.session.close();
  });
});
