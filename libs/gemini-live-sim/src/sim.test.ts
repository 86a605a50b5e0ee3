import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeminiLiveSim, type GeminiLiveSim } from './server.ts';
import { audio, connect as connectClient, kinds, MANUAL, pcm16, turnCompletes } from './tests/client.ts';

let sim: GeminiLiveSim;
beforeAll(async () => {
  // Fast answers for tests: short delay, audio sent as fast as the socket takes it.
  // The protocol basics, on the simple preset: lock-step timing makes the assertions exact.
  sim = await startGeminiLiveSim({ preset: 'simple', firstAudioDelayMs: 50, speed: 0 });
});
afterAll(async () => {
  await sim?.close();
});

// The shared test client; this file's waits keep their 10 s bound.
const connect = (config: Record<string, unknown> = {}, model = 'gemini-3.8-live') => connectClient(sim, config, model, 10_000);

describe('Gemini Live simulator with the real @google/genai client', () => {
  it('receives the setup exactly as the SDK sends it', async () => {
    const next = sim.nextSession();
    const c = await connect({
      ...MANUAL,
      systemInstruction: 'You are a test.',
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } },
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
      temperature: 0.4,
    });
    const s = await next;
    expect(s.setup).toMatchObject({
      model: 'models/gemini-3.8-live',
      generationConfig: { responseModalities: ['AUDIO'], temperature: 0.4, speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } } },
      systemInstruction: { parts: [{ text: 'You are a test.' }] },
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
    });
    expect(s.apiVersion).toBe('v1beta');
    c.session.close();
  });

  it('answers a user turn with 24 kHz audio and transcripts, ending generationComplete then turnComplete', async () => {
    const c = await connect({ ...MANUAL, inputAudioTranscription: {}, outputAudioTranscription: {} });
    c.session.sendRealtimeInput({ activityStart: {} });
    for (let i = 0; i < 10; i++) c.session.sendRealtimeInput(audio(100));
    c.session.sendRealtimeInput({ activityEnd: {} });
    await c.until((m) => turnCompletes(m) === 1);
    const k = kinds(c.messages);
    expect(k[0]).toBe('setupComplete');
    expect(k[1]).toBe('in-text');
    expect(k).toContain('audio');
    expect(k.slice(-3)).toEqual(['generationComplete', 'turnComplete', 'usageMetadata']);
    const first = c.messages.find((m) => m.serverContent?.modelTurn)!;
    expect(first.serverContent!.modelTurn!.parts![0]!.inlineData!.mimeType).toBe('audio/pcm;rate=24000');
    const heard = c.messages.map((m) => m.serverContent?.inputTranscription?.text).filter(Boolean).join('');
    expect(heard).toBe('[user speech 1.0 s]');
    const said = c.messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('');
    expect(said).toBe('You spoke for 1.0 seconds. This is answer number 1.');
    c.session.close();
  });

  it('is interrupted by new activity: interrupted then turnComplete, and no more audio of that turn', async () => {
    sim.behaviour.speed = 1; // real time, so there is an answer to interrupt
    try {
      const c = await connect(MANUAL);
      c.session.sendRealtimeInput({ activityStart: {} });
      c.session.sendRealtimeInput(audio(500));
      c.session.sendRealtimeInput({ activityEnd: {} });
      await c.until((m) => m.some((x) => x.serverContent?.modelTurn));
      c.session.sendRealtimeInput({ activityStart: {} });
      await c.until((m) => m.some((x) => x.serverContent?.interrupted));
      sim.behaviour.speed = 0;
      const k = kinds(c.messages);
      const at = k.indexOf('interrupted');
      expect(k[at + 1]).toBe('turnComplete');
      expect(k).not.toContain('generationComplete');
      const audioBefore = c.messages.filter((m) => m.serverContent?.modelTurn).length;
      c.session.sendRealtimeInput(audio(200));
      c.session.sendRealtimeInput({ activityEnd: {} });
      await c.until((m) => turnCompletes(m) === 2);
      // The next answer is number 2: the interrupted one still counted.
      expect(c.messages.filter((m) => m.serverContent?.modelTurn).length).toBeGreaterThan(audioBefore);
      c.session.close();
    } finally {
      sim.behaviour.speed = 0;
    }
  });

  it('goAway, then a new connection with the resumption handle keeps the conversation', async () => {
    const next = sim.nextSession();
    const c = await connect({ ...MANUAL, sessionResumption: {}, outputAudioTranscription: {} });
    const s = await next;
    c.session.sendRealtimeInput({ activityStart: {} });
    c.session.sendRealtimeInput(audio(300));
    c.session.sendRealtimeInput({ activityEnd: {} });
    await c.until((m) => m.some((x) => x.sessionResumptionUpdate?.newHandle));
    const handle = c.messages.find((m) => m.sessionResumptionUpdate?.newHandle)!.sessionResumptionUpdate!.newHandle!;
    s.goAway(300);
    await c.until((m) => m.some((x) => x.goAway));
    expect(c.messages.find((m) => m.goAway)!.goAway!.timeLeft).toBe('0.300s');
    expect((await c.closed).code).toBe(1001);
    const c2 = await connect({ ...MANUAL, sessionResumption: { handle }, outputAudioTranscription: {} });
    c2.session.sendRealtimeInput({ activityStart: {} });
    c2.session.sendRealtimeInput(audio(300));
    c2.session.sendRealtimeInput({ activityEnd: {} });
    await c2.until((m) => turnCompletes(m) === 1);
    expect(c2.messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('')).toContain('answer number 2');
    c2.session.close();
  });

  it('reports faults with the real close codes', async () => {
    const drop = await connect(MANUAL);
    sim.sessions.at(-1)!.drop();
    expect((await drop.closed).code).toBe(1006);

    for (const code of [1011, 1008]) {
      const c = await connect(MANUAL);
      sim.sessions.at(-1)!.closeWith(code, 'test');
      expect((await c.closed).code).toBe(code);
    }

    const noMime = await connect(MANUAL);
    noMime.session.conn.send(JSON.stringify({ realtimeInput: { audio: { data: pcm16(20) } } }));
    expect((await noMime.closed).code).toBe(1007);

    const auto = await connect({});
    auto.session.sendRealtimeInput({ activityStart: {} });
    expect((await auto.closed).code).toBe(1007);

    await expect(connect(MANUAL, 'models/not-found-model')).rejects.toThrow(/1008/);
  });

  it('detects turns itself in automatic mode, using the setup silence', async () => {
    const c = await connect({ realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 300 } } });
    for (let i = 0; i < 8; i++) c.session.sendRealtimeInput(audio(100));
    for (let i = 0; i < 5; i++) c.session.sendRealtimeInput(audio(100, 0));
    await c.until((m) => turnCompletes(m) === 1);
    expect(kinds(c.messages)).toContain('audio');
    c.session.close();
  });

  it('calls a declared tool and speaks its result', async () => {
    const c = await connect({
      ...MANUAL,
      outputAudioTranscription: {},
      tools: [{ functionDeclarations: [{ name: 'get_current_time', description: 'now', parameters: { type: 'OBJECT', properties: {} } }] }],
    });
    c.session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'please call get_current_time' }] }], turnComplete: true });
    await c.until((m) => m.some((x) => x.toolCall));
    const call = c.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
    expect(call.name).toBe('get_current_time');
    c.session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { output: '12:34' } }] });
    await c.until((m) => turnCompletes(m) === 1);
    expect(c.messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('')).toContain('get_current_time said 12:34');
    c.session.close();
  });

  it('scripts failures over HTTP', async () => {
    const c = await connect(MANUAL);
    const list = (await (await fetch(`${sim.url}/sessions`)).json()) as { id: string }[];
    expect(list.length).toBeGreaterThan(0);
    const r = await fetch(`${sim.url}/sessions/latest/close?code=1011&reason=boom`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect((await c.closed).code).toBe(1011);
    expect((await fetch(`${sim.url}/sessions/nope/drop`, { method: 'POST' })).status).toBe(404);
  });
});
