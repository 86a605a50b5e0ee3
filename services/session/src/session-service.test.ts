import { Kvm } from '@nats-io/kv';
import { KV_BUCKETS, makeEvent } from '@voicebus/protocol';
import { nowUs } from '@voicebus/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audible, audioOut, bus, children, completed, controls, device, of, open, sim, speech, startSession, stopSessions, tone, typed, until, userTurn, useStack, withService } from './session-service.testing.ts';

useStack();

describe('session service (immediate) against the simulator (real @google/genai, real nats-server)', () => {
  withService('immediate');

  it('sends the setup the pack and flags describe', async () => {
    const d = device('immediate', 'setup');
    const s = await open(d);
    expect(s.setup).toMatchObject({
      model: 'models/gemini-2.5-flash-native-audio-latest',
      systemInstruction: { parts: [{ text: 'You are Testy, a helpful voice assistant. Keep answers short and conversational: one or two sentences, spoken naturally. Answer in English. If you are interrupted, stop and listen.' }] },
      generationConfig: { responseModalities: ['AUDIO'], temperature: 0.7, maxOutputTokens: 512, speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } } },
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
      tools: [{ functionDeclarations: [{ name: 'get_current_time' }] }],
    });
    expect(typed(d, 'session.opened')[0]).toMatchObject({ interruption: 'immediate', turnDetection: 'local', resumed: false });
  });

  it('answers each user turn once, on audio.out with the turn id, events in order', async () => {
    const d = device('immediate', 'turns');
    const s = await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(completed(d, `${d}-1`)), 'first answer');
    await userTurn(d, `${d}-2`, 900);
    await until(() => Boolean(completed(d, `${d}-2`)), 'second answer');
    for (const t of [`${d}-1`, `${d}-2`]) {
      const chunks = audioOut.filter((a) => a.deviceId === d && a.chunk.turnId === t);
      expect(chunks.length).toBeGreaterThan(10);
      expect(chunks.every((c) => c.chunk.sampleRate === 24000)).toBe(true);
      expect(chunks.map((c) => c.chunk.seq)).toEqual(chunks.map((_, i) => i));
      const order = of(d).filter((e) => 'turnId' in e && e.turnId === t && e.type !== 'usage').map((e) => e.type);
      // Each present (an index of -1 would pass a bare comparison), in this order.
      const at = (['assistant.turn.start', 'assistant.audio.first', 'assistant.generation.complete'] as const).map((type) => order.indexOf(type));
      expect(at.every((i) => i >= 0), order.join(', ')).toBe(true);
      expect(at).toEqual([...at].sort((a, b) => a - b));
      expect(order.at(-1)).toBe('assistant.turn.complete');
      expect(completed(d, t)).toMatchObject({ interrupted: false });
    }
    const finals = typed(d, 'transcript').filter((e) => e.final);
    expect(finals.map((e) => `${e.role}:${e.text}`)).toEqual([
      'user:[user speech 0.6 s]', 'assistant:You spoke for 0.6 seconds. This is answer number 1.',
      'user:[user speech 0.9 s]', 'assistant:You spoke for 0.9 seconds. This is answer number 2.',
    ]);
    expect(s.messages.filter((m) => (m.realtimeInput as Record<string, unknown> | undefined)?.activityStart).length).toBe(2);
    await until(() => typed(d, 'usage').length === 2, 'usage of both turns');
  });

  it('immediate: speech onset over the audible answer interrupts it; late audio of it is dropped', async () => {
    const d = device('immediate', 'barge');
    await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(typed(d, 'assistant.audio.first')[0]), 'answer audio');
    // Speech before the user hears anything interrupts nothing.
    speech(d, 'speech.misfire');
    audible(d, `${d}-1`, true);
    speech(d, 'speech.onset');
    await until(() => typed(d, 'control.interrupt').length > 0, 'control.interrupt from the session');
    expect(typed(d, 'control.interrupt')[0]).toMatchObject({ turnId: `${d}-1` });
    await userTurn(d, `${d}-2`, 600, false);
    await until(() => Boolean(completed(d, `${d}-1`)), 'interrupted turn completes');
    const cutAt = audioOut.filter((a) => a.deviceId === d && a.chunk.turnId === `${d}-1`).length;
    expect(completed(d, `${d}-1`)).toMatchObject({ interrupted: true });
    expect(typed(d, 'assistant.interrupted')[0]).toMatchObject({ turnId: `${d}-1`, by: 'local' });
    audible(d, undefined, false);
    bus.publishEvent(makeEvent('turn.end', { deviceId: d, turnId: `${d}-2`, speechStartUs: nowUs(), speechEndUs: nowUs(), decidedAt: Date.now(), endOfTurnDelayMs: 0 }));
    await until(() => Boolean(completed(d, `${d}-2`)), 'the new turn is answered');
    expect(audioOut.filter((a) => a.deviceId === d && a.chunk.turnId === `${d}-1`).length).toBe(cutAt);
    expect(typed(d, 'control.interrupt')).toHaveLength(1);
  });

});

describe('session service (pause)', () => {
  withService('pause');

  it('pause: a blip resumes the answer; sustained speech interrupts it', async () => {
    const d = device('pause', 'blip');
    await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(typed(d, 'assistant.audio.first')[0]), 'answer audio');
    audible(d, `${d}-1`, true);
    speech(d, 'speech.onset');
    await until(() => typed(d, 'control.pause').length === 1, 'control.pause');
    expect(typed(d, 'control.pause')[0]).toMatchObject({ turnId: `${d}-1` });
    audible(d, `${d}-1`, false, true);
    speech(d, 'speech.start');
    await userTurn(d, `${d}-blip`, 200, false);
    speech(d, 'speech.end');
    await until(() => typed(d, 'control.resume').length === 1, 'control.resume');
    await until(() => typed(d, 'user.turn.dropped').length === 1, 'the blip is dropped');
    expect(typed(d, 'user.turn.dropped')[0]).toMatchObject({ turnId: `${d}-blip`, reason: 'false-interruption' });
    bus.publishEvent(makeEvent('turn.end', { deviceId: d, turnId: `${d}-blip`, speechStartUs: nowUs(), speechEndUs: nowUs(), decidedAt: Date.now(), endOfTurnDelayMs: 0 }));
    audible(d, `${d}-1`, true);
    await until(() => Boolean(completed(d, `${d}-1`)), 'answer completes');
    expect(completed(d, `${d}-1`)).toMatchObject({ interrupted: false });
    expect(audioOut.some((a) => a.deviceId === d && a.chunk.turnId === `${d}-blip`)).toBe(false);
    audible(d, `${d}-1`, false);

    await userTurn(d, `${d}-2`);
    await until(() => Boolean(typed(d, 'assistant.audio.first').find((e) => e.turnId === `${d}-2`)), 'second answer audio');
    audible(d, `${d}-2`, true);
    speech(d, 'speech.onset');
    await until(() => typed(d, 'control.pause').length === 2, 'second pause');
    audible(d, `${d}-2`, false, true);
    speech(d, 'speech.start');
    await userTurn(d, `${d}-3`, 800);
    speech(d, 'speech.sustained');
    await until(() => typed(d, 'control.interrupt').length === 1, 'control.interrupt');
    expect(typed(d, 'control.interrupt')[0]).toMatchObject({ turnId: `${d}-2`, byTurnId: `${d}-3` });
    audible(d, undefined, false);
    await until(() => Boolean(completed(d, `${d}-3`)), 'the interrupting turn is answered');
    expect(completed(d, `${d}-2`)).toMatchObject({ interrupted: true });
    expect(typed(d, 'control.resume')).toHaveLength(1);
  });

});

describe('session service (deferred)', () => {
  withService('deferred');

  it('deferred: confirmed speech asks playback to stop at the next pause; the held turn goes once it has', async () => {
    const d = device('deferred', 'boundary');
    await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(typed(d, 'assistant.audio.first')[0]), 'answer audio');
    audible(d, `${d}-1`, true);
    speech(d, 'speech.onset');
    expect(typed(d, 'control.flush')).toEqual([]);
    speech(d, 'speech.start');
    await userTurn(d, `${d}-2`, 600, true);
    await until(() => of(d).some((e) => e.type === 'control.flush'), 'deferred flush');
    expect(typed(d, 'control.flush')[0]).toMatchObject({ turnId: `${d}-1`, at: 'pause' });
    expect(typed(d, 'control.interrupt')).toEqual([]);
    // Held until playback says the answer stopped (flushed at its pause, or finished).
    expect(typed(d, 'assistant.audio.first').some((e) => e.turnId === `${d}-2`)).toBe(false);
    audible(d, undefined, false);
    await until(() => Boolean(completed(d, `${d}-2`)), 'held turn answered');
  });

});

describe('session service (ignore)', () => {
  withService('ignore');

  it('ignore: never interrupts; the user turn waits until the answer was heard', async () => {
    const d = device('ignore', 'never');
    await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(typed(d, 'assistant.audio.first')[0]), 'answer audio');
    audible(d, `${d}-1`, true);
    speech(d, 'speech.onset');
    speech(d, 'speech.start');
    await userTurn(d, `${d}-2`);
    speech(d, 'speech.sustained');
    speech(d, 'speech.end');
    await until(() => Boolean(completed(d, `${d}-1`)), 'first answer completes');
    expect(completed(d, `${d}-1`)).toMatchObject({ interrupted: false });
    expect(typed(d, 'assistant.audio.first').some((e) => e.turnId === `${d}-2`)).toBe(false);
    audible(d, `${d}-1`, false);
    await until(() => Boolean(completed(d, `${d}-2`)), 'held turn answered after the first was heard');
    expect(typed(d, 'assistant.interrupted')).toEqual([]);
    expect(controls(d)).toEqual([]);
  });

});

describe('session service inactivity', () => {
  beforeAll(() => startSession('immediate', ['--inactivity-ms', '1500']));
  afterAll(() => stopSessions());

  it('ends a quiet device\'s session cleanly after the inactivity time, and says so', async () => {
    const d = device('quiet', 'one');
    const s = await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(completed(d, `${d}-1`)), 'answer');
    audible(d, `${d}-1`, true);
    audible(d, `${d}-1`, false);
    await until(() => typed(d, 'session.closed').length > 0, 'inactivity close');
    expect(typed(d, 'session.closed')[0]!.reason).toMatch(/inactive for 1500 ms/);
    await until(() => s.messages.length > 0 && sim.sessions.includes(s), 'sim saw the session');
    // The next turn opens a fresh session.
    const next = sim.nextSession();
    await userTurn(d, `${d}-2`);
    await next;
    await until(() => Boolean(completed(d, `${d}-2`)), 'answer after reopening');
  });
});

describe('session service passivation', () => {
  beforeAll(() => startSession('immediate', ['--device-idle-ms', '1500', '--inactivity-ms', '0']));
  afterAll(() => stopSessions());

  it('a device that goes quiet is passivated: its lease is handed back, and when it speaks again a new actor resumes its conversation with the handle', async () => {
    const d = device('idle', 'one');
    const kv = await new Kvm(bus.nc as never).open(KV_BUCKETS.owners);
    await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(completed(d, `${d}-1`)), 'answer');
    audible(d, `${d}-1`, true);
    audible(d, `${d}-1`, false);
    // Nothing more from or about the device: its lease goes (deleted, not left to expire).
    const lease = await kv.watch({ key: `session.${d}` });
    for await (const e of lease) if (e.operation !== 'PUT') break;
    const next = sim.nextSession();
    await userTurn(d, `${d}-2`);
    const resumed = await next;
    await until(() => typed(d, 'session.opened').length === 2, 'a session again');
    expect(resumed.resumedFrom).toBeDefined();
    await until(() => Boolean(completed(d, `${d}-2`)), 'answer after passivation');
    expect(typed(d, 'session.opened').map((e) => e.resumed)).toEqual([false, true]);
    // The model's context went on: this is its second answer, not a new conversation's first.
    const final = typed(d, 'transcript').filter((e) => e.final && e.role === 'assistant').at(-1)!;
    expect(final.text).toContain('answer number 2');
  });
});

describe('session service with server-side turn detection', () => {
  beforeAll(() => startSession('immediate', ['--turn-detection', 'server', '--silence-duration-ms', '400']));
  afterAll(() => stopSessions());

  it('streams all audio and relays the answer of a turn Gemini detected itself', async () => {
    const d = device('server', 'one');
    const s = await open(d);
    expect(s.setup).toMatchObject({ realtimeInputConfig: { automaticActivityDetection: { disabled: false, silenceDurationMs: 400 } } });
    // Audio only, no turn events: 0.8 s of speech-like tone, then 0.8 s of silence.
    const start = nowUs();
    const pcm = new Int16Array(16000 * 1.6);
    pcm.set(tone(800));
    for (let i = 0, seq = 0; i < pcm.length; i += 320, seq++) {
      bus.publishAudio(d, 'audio.in', { seq, captureTsUs: start + i * 62.5, sampleRate: 16000, channels: 1, pcm: pcm.subarray(i, i + 320) });
    }
    await until(() => typed(d, 'assistant.turn.complete').length === 1, 'answer to a server-detected turn');
    const done = typed(d, 'assistant.turn.complete')[0]!;
    expect(done.turnId).toBe(`${d}-s1`);
    expect(audioOut.filter((a) => a.deviceId === d && a.chunk.turnId === done.turnId).length).toBeGreaterThan(10);
    expect(s.messages.some((m) => (m.realtimeInput as Record<string, unknown> | undefined)?.activityStart)).toBe(false);
  });
});

describe('session service lifetime (immediate)', () => {
  withService('immediate');

  it('goAway: reconnects with the resumption handle and loses no turn', async () => {
    const d = device('immediate', 'goaway');
    const s = await open(d);
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(completed(d, `${d}-1`)), 'first answer');
    const next = sim.nextSession();
    s.goAway(2000);
    const s2 = await next;
    await until(() => typed(d, 'session.opened').length === 2, 'resumed session');
    expect(typed(d, 'session.opened')[1]).toMatchObject({ resumed: true });
    expect(s2.resumedFrom).toBeDefined();
    await userTurn(d, `${d}-2`);
    await until(() => Boolean(completed(d, `${d}-2`)), 'answer after resumption');
    const final = typed(d, 'transcript').filter((e) => e.final && e.role === 'assistant').at(-1)!;
    expect(final.text).toContain('answer number 2');
  });

  it('a 1011 close in the middle of a user turn: the turn is sent again on the new session and answered once, all of it heard', async () => {
    const d = device('immediate', 'midturn');
    const s = await open(d);
    const turnId = `${d}-1`;
    const start = nowUs();
    const pcm = tone(800);
    const chunk = (seq: number) => bus.publishAudio(d, 'audio.in', { seq, captureTsUs: start + seq * 20_000, sampleRate: 16000, channels: 1, pcm: pcm.subarray(seq * 320, seq * 320 + 320) });
    bus.publishEvent(makeEvent('turn.start', { deviceId: d, turnId, speechStartUs: start, decidedAt: start / 1000 }));
    for (let seq = 0; seq < 20; seq++) chunk(seq); // the first 400 ms
    await bus.flush();
    const next = sim.nextSession();
    s.closeWith(1011, 'internal');
    await next;
    for (let seq = 20; seq < 40; seq++) chunk(seq); // the user goes on speaking
    bus.publishEvent(makeEvent('turn.end', { deviceId: d, turnId, speechStartUs: start, speechEndUs: start + 800_000, decidedAt: Date.now(), endOfTurnDelayMs: 0 }));
    await bus.flush();
    await until(() => Boolean(completed(d, turnId)), 'the turn answered after the reconnect');
    // Once, with all 0.8 s of it heard (before: the turn was lost and nothing said so).
    expect(typed(d, 'assistant.turn.complete').filter((e) => e.turnId === turnId)).toEqual([expect.objectContaining({ interrupted: false })]);
    expect(typed(d, 'transcript').filter((e) => e.final && e.role === 'assistant' && e.turnId === turnId).at(-1)!.text).toMatch(/You spoke for 0\.8 seconds/);
    expect(typed(d, 'user.turn.dropped')).toEqual([]);
    expect(typed(d, 'session.opened').at(-1)).toMatchObject({ gapMs: expect.any(Number) });
  });

  it('a 1011 close reconnects; a 1008 close is reported without a retry storm', async () => {
    const d = device('immediate', 'faults');
    const s = await open(d);
    const next = sim.nextSession();
    s.closeWith(1011, 'internal');
    await next;
    await until(() => typed(d, 'session.opened').length === 2, 'reconnected after 1011');
    expect(typed(d, 'session.reconnecting')[0]).toMatchObject({ cause: 'closed' });
    const before = sim.sessions.length;
    sim.sessions.at(-1)!.closeWith(1008, 'policy violation');
    await until(() => typed(d, 'session.error').some((e) => e.kind === 'config'), 'config error');
    expect(typed(d, 'session.error').find((e) => e.kind === 'config')).toMatchObject({ code: 1008, retrying: false });
    // Audio keeps coming; the service must not hammer the server. The session drops the turn
    // once it has handled all of its audio (each chunk is where it would try to reconnect),
    // and counts every connection attempt where it makes it.
    const connects = async () => (await bus.nc.request('voicebus.session.status', '', { timeout: 5000 })).json<{ connects: Record<string, number> }>().connects[d];
    const attempts = await connects();
    expect(attempts).toBeGreaterThanOrEqual(2);
    await userTurn(d, `${d}-x`);
    await until(() => of(d).some((e) => e.type === 'user.turn.dropped' && e.turnId === `${d}-x`), 'turn dropped without a session');
    expect(await connects()).toBe(attempts);
    expect(sim.sessions.length).toBe(before);
  });

  it('answers a tool call with the built-in handler', async () => {
    const d = device('immediate', 'tools');
    await open(d);
    const turn = sim.sessions.at(-1)!.state.turns + 1;
    sim.behaviour.toolCallOnTurns = [turn];
    try {
      await userTurn(d, `${d}-1`);
      await until(() => Boolean(completed(d, `${d}-1`)), 'answer with tool result');
      const final = typed(d, 'transcript').filter((e) => e.final && e.role === 'assistant').at(-1)!;
      expect(final.text).toMatch(/get_current_time said 20\d\d-/);
    } finally {
      sim.behaviour.toolCallOnTurns = [];
    }
  });

  it('survives a malformed server message and keeps answering', async () => {
    const d = device('immediate', 'junk');
    const s = await open(d);
    s.sendRaw({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: 12345 } }] } } });
    s.sendRaw({ serverContent: { outputTranscription: { text: { not: 'text' } } } });
    await userTurn(d, `${d}-1`);
    await until(() => Boolean(completed(d, `${d}-1`)), 'answer after junk');
    expect(children.every((c) => c.exitCode === null)).toBe(true);
    // Answering again is not enough: a crashed actor is restarted by supervision and answers
    // too. The junk must have been skipped where it was read, so the device's actor never crashed.
    const status = (await bus.nc.request('voicebus.session.status', '', { timeout: 5000 })).json<{ devices: { deviceId: string; restarts: number }[] }>();
    expect(status.devices.find((a) => a.deviceId === d)).toMatchObject({ deviceId: d, restarts: 0 });
  });
});
