import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from '../server.ts';
import { MANUAL, audio, connect, outputText, sleep, speak, turnCompletes } from './client.ts';

let sim: GeminiLiveSim;
beforeAll(async () => {
  sim = await startGeminiLiveSim({ preset: 'realistic', firstAudioDelayMs: 20, generationCompleteEarly: false });
});
afterAll(async () => {
  await sim?.close();
});

/** Streams `ms` of audio in 20 ms messages at real time (speech, or silence with amp 0). */
async function stream(c: { session: { sendRealtimeInput(x: unknown): void } }, ms: number, amp?: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    for (let i = 0; i < 5; i++) c.session.sendRealtimeInput(audio(20, amp) as never);
    await sleep(25);
  }
}

/** A text turn: the simulator answers it after everything sent before it has been heard. */
const SENTINEL = { turns: [{ role: 'user', parts: [{ text: 'still there' }] }], turnComplete: true };

const activity = (c: { messages: { voiceActivity?: { voiceActivityType?: string; audioOffset?: string } }[] }) =>
  c.messages.flatMap((m) => (m.voiceActivity ? [m.voiceActivity] : []));

describe('turns (real @google/genai client)', () => {
  it('thinking model: a short utterance gets turnComplete with waitingForInput and turnCompleteReason, the next one the answer', async () => {
    const c = await connect(sim, { ...MANUAL, outputAudioTranscription: {} }, 'gemini-2.5-flash-native-audio-preview-12-2025');
    speak(c, 400);
    await c.until((m) => turnCompletes(m) === 1);
    const waiting = c.messages.find((m) => m.serverContent?.turnComplete)!.serverContent!;
    // Old simulator: every utterance answered, no waitingForInput.
    expect(waiting).toMatchObject({ turnComplete: true, waitingForInput: true, turnCompleteReason: 'NEED_MORE_INPUT', interactionStatus: 'IDLE' });
    expect(c.messages.some((m) => m.serverContent?.modelTurn)).toBe(false);
    speak(c, 1000);
    await c.until((m) => turnCompletes(m) === 2);
    expect(outputText(c.messages)).toContain('You spoke for 1.4 seconds');
    c.session.close();
  });

  it('server activity detection: a 300 ms pause does not split a turn; voiceActivity start and end with audio offsets', async () => {
    const c = await connect(sim, { outputAudioTranscription: {} });
    await stream(c, 300, 0);
    await stream(c, 600);
    await stream(c, 300, 0);
    await stream(c, 600);
    await stream(c, 1000, 0);
    await c.until((m) => turnCompletes(m) === 1);
    // Text after all the audio is answered after whatever that audio made: one turn, or more.
    c.session.sendClientContent(SENTINEL);
    await c.until((m) => turnCompletes(m) === 2);
    // Old simulator: no voiceActivity; its 800 ms default kept this turn, but see the next test.
    const va = activity(c);
    expect(va.map((v) => v.voiceActivityType)).toEqual(['ACTIVITY_START', 'ACTIVITY_END']);
    expect(parseFloat(va[0]!.audioOffset!)).toBeCloseTo(0.3, 1);
    expect(parseFloat(va[1]!.audioOffset!)).toBeCloseTo(1.8, 1);
    expect(outputText(c.messages).match(/You spoke for [\d.]+ seconds/g)).toEqual(['You spoke for 1.5 seconds']);
    c.session.close();
  });

  it('server activity detection honours silenceDurationMs and prefixPaddingMs from the setup', async () => {
    const c = await connect(sim, { realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 250, prefixPaddingMs: 300 } } });
    await stream(c, 200); // shorter than the prefix padding: not speech
    await stream(c, 500, 0);
    c.session.sendClientContent(SENTINEL);
    await c.until((m) => turnCompletes(m) === 1);
    expect(activity(c)).toEqual([]);
    await stream(c, 600);
    await stream(c, 500, 0);
    await c.until((m) => activity({ messages: m }).length === 2);
    // Old simulator: ignored prefixPaddingMs (it used its own 120 ms).
    expect(parseFloat(activity(c)[1]!.audioOffset!) - parseFloat(activity(c)[0]!.audioOffset!)).toBeCloseTo(0.6, 1);
    c.session.close();
  });

  it('interrupts an answer when the user speaks over it, unless activityHandling is NO_INTERRUPTION', async () => {
    sim.behaviour.burstSpeedMin = sim.behaviour.burstSpeedMax = 1;
    try {
      for (const activityHandling of ['START_OF_ACTIVITY_INTERRUPTS', 'NO_INTERRUPTION']) {
        const c = await connect(sim, { realtimeInputConfig: { activityHandling, automaticActivityDetection: { silenceDurationMs: 300 } } });
        await stream(c, 500);
        await stream(c, 400, 0);
        await c.until((m) => m.some((x) => x.serverContent?.modelTurn));
        await stream(c, 400);
        // Either the answer is cut, or it plays to its end.
        await c.until((m) => m.some((x) => x.serverContent?.interrupted) || turnCompletes(m) >= 1);
        const interrupted = c.messages.some((m) => m.serverContent?.interrupted);
        // Old simulator: NO_INTERRUPTION was ignored.
        expect([activityHandling, interrupted]).toEqual([activityHandling, activityHandling !== 'NO_INTERRUPTION']);
        c.session.close();
      }
    } finally {
      sim.behaviour.burstSpeedMin = 2;
      sim.behaviour.burstSpeedMax = 6;
    }
  });
});
