import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from '../server.ts';
import { MANUAL, audio, connect, connectFails, outputText, rawConnect, sleep, speak, turnCompletes, updates } from './client.ts';

let sim: GeminiLiveSim;
beforeAll(async () => {
  sim = await startGeminiLiveSim({ preset: 'realistic', firstAudioDelayMs: 20, generationCompleteEarly: false, resumptionUpdateIntervalMs: 0 });
});
afterAll(async () => {
  await sim?.close();
});

describe('session resumption (real @google/genai client)', () => {
  it('is not resumable while the model generates, and gives a fresh handle after the turn', async () => {
    const c = await connect(sim, { ...MANUAL, sessionResumption: {} });
    speak(c, 500);
    await c.until((m) => turnCompletes(m) === 1 && updates(m).some((u) => u.resumable));
    const firstAudio = c.messages.findIndex((m) => m.serverContent?.modelTurn);
    const done = c.messages.findIndex((m) => m.serverContent?.turnComplete);
    const before = c.messages.slice(0, firstAudio).flatMap((m) => (m.sessionResumptionUpdate ? [m.sessionResumptionUpdate] : []));
    // Old simulator: only resumable:true updates, after the turn.
    expect(before).toEqual([{ resumable: false }]);
    const after = updates(c.messages.slice(done));
    expect(after.at(-1)).toMatchObject({ resumable: true, newHandle: expect.stringMatching(/^sim-/) });
    c.session.close();
  });

  it('is not resumable while a tool call is pending', async () => {
    const c = await connect(sim, { ...MANUAL, sessionResumption: {}, tools: [{ functionDeclarations: [{ name: 'lookup', behavior: 'BLOCKING' }] }] });
    c.session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'please lookup' }] }], turnComplete: true });
    await c.until((m) => m.some((x) => x.toolCall));
    // The update that follows the call says what a pending call makes of the session.
    const afterCall = c.messages.findIndex((m) => m.toolCall);
    await c.until((m) => updates(m.slice(afterCall)).length > 0);
    const call = c.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
    expect(updates(c.messages).every((u) => u.resumable === false)).toBe(true);
    expect(updates(c.messages).length).toBeGreaterThan(0);
    c.session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { output: 'ok' } }] });
    await c.until((m) => updates(m).some((u) => u.resumable));
    c.session.close();
  });

  it('transparent resumption reports lastConsumedClientMessageIndex, and a resumed connection continues the open turn', async () => {
    // @google/genai refuses `transparent` in Gemini API mode, so this client is a raw socket.
    const c = await rawConnect(sim, { ...MANUAL, sessionResumption: { transparent: true }, outputAudioTranscription: {} });
    const s = sim.sessions.at(-1)!;
    c.session.sendRealtimeInput({ activityStart: {} }); // message 1 (the setup is 0)
    for (let i = 0; i < 5; i++) c.session.sendRealtimeInput(audio(100)); // 2..6
    await sleep(100);
    const handle = s.sendResumptionUpdate()!;
    await c.until((m) => updates(m).length > 0);
    // Old simulator: no index at all.
    expect(updates(c.messages).at(-1)).toEqual({ newHandle: handle, resumable: true, lastConsumedClientMessageIndex: '6' });
    c.session.close();
    // The client re-sends nothing (all consumed), speaks 500 ms more and ends the turn.
    const c2 = await connect(sim, { ...MANUAL, sessionResumption: { handle }, outputAudioTranscription: {} });
    for (let i = 0; i < 5; i++) c2.session.sendRealtimeInput(audio(100));
    c2.session.sendRealtimeInput({ activityEnd: {} });
    await c2.until((m) => turnCompletes(m) === 1);
    expect(outputText(c2.messages)).toContain('You spoke for 1.0 seconds');
    c2.session.close();
  });

  it('expires handles: an expired handle on setup closes 1008', async () => {
    sim.behaviour.handleTtlMs = 200;
    try {
      const c = await connect(sim, { ...MANUAL, sessionResumption: {} });
      const handle = sim.sessions.at(-1)!.sendResumptionUpdate()!;
      c.session.close();
      const fresh = await connect(sim, { ...MANUAL, sessionResumption: { handle } });
      fresh.session.close();
      await sleep(300);
      // Old simulator: handles never expire.
      expect(await connectFails(sim, { ...MANUAL, sessionResumption: { handle } })).toMatch(/1008.*expired/);
    } finally {
      sim.behaviour.handleTtlMs = 2 * 60 * 60_000;
    }
  });
});
