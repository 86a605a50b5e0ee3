import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from '../server.ts';
import { MANUAL, audio, connect, outputText, turnCompletes } from './client.ts';

let sim: GeminiLiveSim;
beforeAll(async () => {
  sim = await startGeminiLiveSim({ preset: 'realistic', firstAudioDelayMs: 20, generationCompleteEarly: false });
});
afterAll(async () => {
  await sim?.close();
});

const weather = { name: 'get_weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' }, days: { type: 'INTEGER' } }, required: ['city'] } };
const time = { name: 'get_time', parametersJsonSchema: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } };
const ask = (text: string) => ({ turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true });

describe('tool calls (real @google/genai client)', () => {
  it('calls several tools in parallel in one toolCall, with arguments from their schemas', async () => {
    const c = await connect(sim, { ...MANUAL, tools: [{ functionDeclarations: [weather, time] }] });
    c.session.sendClientContent(ask('get_weather and get_time please'));
    await c.until((m) => m.some((x) => x.toolCall));
    const calls = c.messages.find((m) => m.toolCall)!.toolCall!.functionCalls!;
    // Old simulator: one call, args {}.
    expect(calls.map((x) => x.name)).toEqual(['get_weather', 'get_time']);
    expect(calls[0]!.args).toEqual({ city: 'sample city', days: 3 });
    expect(calls[1]!.args).toEqual({ zone: 'UTC' });
    expect(new Set(calls.map((x) => x.id)).size).toBe(2);
    c.session.close();
  });

  it('NON_BLOCKING: keeps talking while the call runs; WHEN_IDLE speaks the result after the answer, SILENT does not', async () => {
    const c = await connect(sim, { ...MANUAL, outputAudioTranscription: {}, tools: [{ functionDeclarations: [{ ...weather, behavior: 'NON_BLOCKING' }] }] });
    c.session.sendClientContent(ask('get_weather'));
    await c.until((m) => m.some((x) => x.toolCall));
    const call = c.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
    // Old simulator: silence until the toolResponse.
    await c.until((m) => m.some((x) => x.serverContent?.modelTurn));
    c.session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { output: 'sunny' }, scheduling: 'WHEN_IDLE' as never }] });
    await c.until((m) => turnCompletes(m) === 2);
    const text = outputText(c.messages);
    expect(text.indexOf('Let me check that with get_weather.')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('Let me check that with get_weather.')).toBeLessThan(text.indexOf('The tool get_weather said sunny.'));
    expect(c.messages.some((m) => m.serverContent?.interrupted)).toBe(false);

    c.session.sendClientContent(ask('get_weather again'));
    await c.until((m) => m.filter((x) => x.toolCall).length === 2);
    const call2 = c.messages.filter((m) => m.toolCall)[1]!.toolCall!.functionCalls![0]!;
    c.session.sendToolResponse({ functionResponses: [{ id: call2.id, name: call2.name, response: { output: 'rain' }, scheduling: 'SILENT' as never }] });
    await c.until((m) => turnCompletes(m) === 3);
    const third = c.messages.length;
    // A question asked now is answered once the model is free: spoken, the result would be the
    // 4th answer (or be cut by the question), so the 4th must be the question's own.
    c.session.sendClientContent(ask('and then'));
    await c.until((m) => turnCompletes(m) === 4);
    expect(outputText(c.messages.slice(third))).toBe('You said: and then. This is answer number 4.');
    expect(c.messages.slice(third).some((m) => m.serverContent?.interrupted)).toBe(false);
    expect(outputText(c.messages)).not.toContain('rain');
    c.session.close();
  });

  it('NON_BLOCKING with INTERRUPT: the result cuts the current answer (interrupted) and is spoken at once', async () => {
    sim.behaviour.burstSpeedMin = sim.behaviour.burstSpeedMax = 1;
    try {
      const c = await connect(sim, { ...MANUAL, outputAudioTranscription: {}, tools: [{ functionDeclarations: [{ ...weather, behavior: 'NON_BLOCKING' }] }] });
      c.session.sendClientContent(ask('get_weather'));
      await c.until((m) => m.some((x) => x.serverContent?.modelTurn));
      const call = c.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
      c.session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { output: 'storm' }, scheduling: 'INTERRUPT' as never }] });
      await c.until((m) => turnCompletes(m) === 2);
      expect(c.messages.findIndex((m) => m.serverContent?.interrupted)).toBeGreaterThan(-1);
      expect(c.messages.some((m) => m.serverContent?.generationComplete)).toBe(true);
      expect(outputText(c.messages)).toContain('The tool get_weather said storm.');
      c.session.close();
    } finally {
      sim.behaviour.burstSpeedMin = 2;
      sim.behaviour.burstSpeedMax = 6;
    }
  });

  it('cancels a pending call with toolCallCancellation when the user interrupts', async () => {
    const c = await connect(sim, { ...MANUAL, tools: [{ functionDeclarations: [{ ...weather, behavior: 'BLOCKING' }] }] });
    c.session.sendClientContent(ask('get_weather'));
    await c.until((m) => m.some((x) => x.toolCall));
    const call = c.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
    c.session.sendRealtimeInput({ activityStart: {} });
    // Old simulator: the call just stays pending.
    await c.until((m) => m.some((x) => x.toolCallCancellation));
    expect(c.messages.find((m) => m.toolCallCancellation)!.toolCallCancellation!.ids).toEqual([call.id]);
    c.session.close();
  });

  it('closes 1008 when audio streams while a BLOCKING call is pending, only when the option says so', async () => {
    const blocking = { ...MANUAL, tools: [{ functionDeclarations: [{ ...weather, behavior: 'BLOCKING' }] }] };
    const tolerant = await connect(sim, blocking);
    let tolerantClosed = false;
    void tolerant.closed.then(() => (tolerantClosed = true));
    tolerant.session.sendClientContent(ask('get_weather'));
    await tolerant.until((m) => m.some((x) => x.toolCall));
    tolerant.session.sendRealtimeInput(audio(100));
    // Answered after the audio: the connection outlived it.
    const call = tolerant.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
    tolerant.session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { output: 'sunny' } }] });
    await tolerant.until((m) => turnCompletes(m) === 1);
    expect(tolerantClosed).toBe(false);
    tolerant.session.close();

    sim.behaviour.closeOnAudioDuringBlockingCall = true;
    try {
      const c = await connect(sim, blocking);
      c.session.sendClientContent(ask('get_weather'));
      await c.until((m) => m.some((x) => x.toolCall));
      c.session.sendRealtimeInput(audio(100));
      expect((await c.closed).code).toBe(1008);
    } finally {
      sim.behaviour.closeOnAudioDuringBlockingCall = false;
    }
  });
});
