import type { FunctionResponse, LiveServerMessage } from '@google/genai';
import { makeEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import type { ActorContext } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { describe, expect, it } from 'vitest';
import type { LiveSession, LiveSessionMessage, LiveSessionPort } from './live-session.ts';
import { SessionActor, type SessionDeps, type SessionMessage } from './session-actor.ts';
import type { SessionOptions } from './session-options.ts';
import { ToolRegistry } from './tool-handlers.ts';

/** The model connection, faked: it records what the actor sends and lets a test speak for the model. */
class FakeLive implements LiveSession {
  connected = false;
  refuse = false;
  /** The next open resumes a conversation (a handle exists). */
  resumes = false;
  /** The next open is a reconnect of this actor's own session. */
  reconnects = false;
  sent: string[] = [];
  /** The first sample of each chunk of audio sent (tests number their chunks so). */
  sentFirstSamples: number[] = [];
  toolResponses: FunctionResponse[][] = [];
  readonly port: LiveSessionPort;
  constructor(port: LiveSessionPort) {
    this.port = port;
  }
  async open(): Promise<void> {
    if (this.connected || this.refuse) return;
    this.connected = true;
    this.port.listener.onOpened({ resumed: this.resumes, reconnect: this.reconnects });
  }
  /** The socket drops (goAway, 1011, a dead network): the actor hears of it, the next open resumes. */
  lose(): void {
    this.connected = false;
    this.resumes = true;
    this.reconnects = true;
    this.port.listener.onLost(undefined);
  }
  handle(m: LiveSessionMessage): void {
    if (m.type === 'message') this.port.listener.onMessage(m.message);
  }
  async onTimer(name: string): Promise<boolean> {
    return name.startsWith('live.');
  }
  sendAudio(pcm: Int16Array): void {
    if (!this.connected) return;
    this.sent.push('audio');
    this.sentFirstSamples.push(pcm[0]!);
  }
  activityStart(): void {
    this.sent.push('activityStart');
  }
  activityEnd(): void {
    this.sent.push('activityEnd');
  }
  sendText(text: string): void {
    this.sent.push(`text:${text}`);
  }
  sendToolResponse(responses: FunctionResponse[]): void {
    this.toolResponses.push(responses);
  }
  expectAnswer(): void {}
  answerFinished(): void {}
  end(): void {
    this.connected = false;
  }
  stop(): void {}
}

const b64 = (samples: number) => Buffer.from(new Int16Array(samples).buffer).toString('base64');
const audioMsg = (samples = 480): LiveServerMessage => ({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: b64(samples) } }] } } }) as LiveServerMessage;
const content = (sc: Record<string, unknown>): LiveServerMessage => ({ serverContent: sc }) as unknown as LiveServerMessage;

function harness(options: Partial<SessionOptions> = {}, tools = new ToolRegistry(), history?: SessionDeps['history']) {
  const events: VoiceEvent[] = [];
  const audioOut: AudioChunk[] = [];
  const mailbox: { message: SessionMessage; priority: boolean }[] = [];
  const timers = new Set<string>();
  const logger = memoryLogger();
  let live!: FakeLive;
  const ctx: ActorContext<SessionMessage> = {
    deviceId: 'd',
    log: logger.log,
    restarts: 0,
    send: (message, o) => mailbox.push({ message, priority: Boolean(o?.priority) }),
    schedule: (name) => timers.add(name),
    cancel: (name) => timers.delete(name),
    isScheduled: (name) => timers.has(name),
    droppedAudio: () => 0,
  };
  const actor = new SessionActor(ctx, {
    bus: { tryPublishEvent: (e) => (events.push(e), true), publishAudio: (_d, _s, c) => void audioOut.push(c) },
    tools,
    createLiveSession: (port) => (live = new FakeLive(port)),
    history,
  }, options);
  const T0 = 1_000_000_000_000;
  let seq = 0;
  const h = {
    actor, events, audioOut, mailbox, timers, logger,
    get live() {
      return live;
    },
    event: (e: VoiceEvent) => actor.handle({ kind: 'event', event: e }),
    model: (m: LiveServerMessage) => actor.handle({ kind: 'live', socket: 1, type: 'message', message: m }),
    audio: () => actor.handle({ kind: 'audio', chunk: { seq: seq++, captureTsUs: T0 + seq * 20_000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) } }),
    async turnStart(turnId: string) {
      await h.event(makeEvent('turn.start', { deviceId: 'd', turnId, speechStartUs: T0 + seq * 20_000, decidedAt: Date.now() }));
      await h.audio();
    },
    turnEnd: (turnId: string) => h.event(makeEvent('turn.end', { deviceId: 'd', turnId, speechStartUs: T0, speechEndUs: T0 + seq * 20_000, decidedAt: Date.now(), endOfTurnDelayMs: 0 })),
    async turn(turnId: string) {
      await h.turnStart(turnId);
      await h.turnEnd(turnId);
    },
    heard: (turnId: string | undefined, audible: boolean, paused = false) => h.event(makeEvent('assistant.audible', { deviceId: 'd', ...(turnId ? { turnId } : {}), audible, paused, at: Date.now() })),
    speech: (type: 'speech.onset' | 'speech.misfire' | 'speech.start' | 'speech.sustained' | 'speech.end') => {
      const us = T0 + seq * 20_000;
      if (type === 'speech.onset' || type === 'speech.misfire') return h.event(makeEvent(type, { deviceId: 'd', atUs: us, decidedAt: 1 }));
      if (type === 'speech.start') return h.event(makeEvent(type, { deviceId: 'd', speechStartUs: us, decidedAt: 1, inferenceMs: 1 }));
      if (type === 'speech.sustained') return h.event(makeEvent(type, { deviceId: 'd', speechStartUs: us, atUs: us, sustainedMs: 600, decidedAt: 1 }));
      return h.event(makeEvent(type, { deviceId: 'd', speechStartUs: us, speechEndUs: us, decidedAt: 1, inferenceMs: 1 }));
    },
    of: <T extends VoiceEvent['type']>(type: T) => events.filter((e): e is Extract<VoiceEvent, { type: T }> => e.type === type),
    controls: () => events.filter((e) => e.type.startsWith('control.')).map((e) => e.type),
    audioOf: (turnId: string) => audioOut.filter((c) => c.turnId === turnId).length,
    /** A user turn answered, the answer audible. */
    async answering(turnId: string) {
      await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: T0 }));
      await h.turn(turnId);
      await h.model(audioMsg());
      await h.heard(turnId, true);
    },
  };
  return h;
}

describe('SessionActor with a fake live session', () => {
  it('relays a user turn (activityStart, pre-roll audio, activityEnd) and the answer on audio.out', async () => {
    const h = harness();
    await h.answering('u1');
    expect(h.live.sent).toEqual(['activityStart', 'audio', 'activityEnd']);
    await h.model(content({ outputTranscription: { text: 'Hello.' }, generationComplete: true }));
    await h.model(content({ turnComplete: true }));
    expect(h.audioOf('u1')).toBe(1);
    expect(h.of('assistant.turn.complete')[0]).toMatchObject({ turnId: 'u1', interrupted: false });
    expect(h.controls()).toEqual([]);
  });

  it('immediate: onset over the audible answer interrupts it at once; its late audio is dropped; the next turn goes straight in', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.answering('u1');
    await h.speech('speech.onset');
    expect(h.of('control.interrupt')).toEqual([expect.objectContaining({ turnId: 'u1' })]);
    expect(h.of('assistant.interrupted')[0]).toMatchObject({ turnId: 'u1', by: 'local' });
    await h.model(audioMsg());
    expect(h.audioOf('u1')).toBe(1);
    await h.speech('speech.start');
    await h.turnStart('u2');
    expect(h.live.sent.filter((s) => s === 'activityStart')).toHaveLength(2);
    expect(h.of('control.interrupt')).toHaveLength(1);
    // The model closes the retired answer; that is not taken for u2's.
    await h.model(content({ interrupted: true }));
    await h.model(content({ turnComplete: true }));
    expect(h.of('assistant.turn.complete')).toEqual([expect.objectContaining({ turnId: 'u1', interrupted: true })]);
  });

  it('a control.interrupt from elsewhere stops the answer in play once; its own commands coming back change nothing', async () => {
    const h = harness({ interruption: 'ignore' });
    await h.answering('u1');
    await h.event(makeEvent('control.interrupt', { deviceId: 'd', turnId: 'other' }));
    expect(h.of('assistant.interrupted')).toEqual([]);
    await h.event(makeEvent('control.interrupt', { deviceId: 'd', turnId: 'u1', reason: 'operator' }));
    await h.event(makeEvent('control.interrupt', { deviceId: 'd', turnId: 'u1', reason: 'operator' }));
    expect(h.of('assistant.interrupted')).toEqual([expect.objectContaining({ turnId: 'u1', by: 'local' })]);
    // Playback heard the command itself: the session does not repeat it.
    expect(h.controls()).toEqual([]);
  });

  it('a turn\'s events that come twice (a stored publish retried after an outage, its first attempt delivered) are acted on once', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.answering('u1');
    // The vad's turn.start and turn.end of u1 again, while u1's answer is audible.
    await h.event(makeEvent('turn.start', { deviceId: 'd', turnId: 'u1', speechStartUs: 1_000_000_000_000, decidedAt: Date.now() }));
    await h.turnEnd('u1');
    expect(h.controls()).toEqual([]);
    expect(h.of('assistant.interrupted')).toEqual([]);
    expect(h.of('user.turn.dropped')).toEqual([]);
    // The model heard the turn once.
    expect(h.live.sent).toEqual(['activityStart', 'audio', 'activityEnd']);
    await h.model(content({ turnComplete: true }));
    expect(h.of('assistant.turn.complete')).toEqual([expect.objectContaining({ turnId: 'u1', interrupted: false })]);
  });

  it('a turn that ends here without having started here (a restart mid-turn) is reported lost without an audio history, once', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.audio();
    await h.turnEnd('started-elsewhere');
    expect(h.of('user.turn.dropped')).toEqual([expect.objectContaining({ turnId: 'started-elsewhere', reason: 'missed-start' })]);
    expect(h.live.sent.filter((s) => s === 'activityEnd')).toHaveLength(0);
    // A turn that started here is relayed as usual, and its end is not a missed start.
    await h.turn('u1');
    expect(h.live.sent.filter((s) => s === 'activityEnd')).toHaveLength(1);
    expect(h.of('user.turn.dropped')).toHaveLength(1);
  });

  it('with an audio history, a turn begun before this actor is read back whole and answered like any other', async () => {
    const T0 = 1_000_000_000_000;
    const calls: { deviceId: string; fromUs: number; toUs: number; result: Promise<AudioChunk[]> }[] = [];
    const stored = Array.from({ length: 40 }, (_, i): AudioChunk => ({ seq: i, captureTsUs: T0 + i * 20_000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) }));
    const history = {
      between(deviceId: string, fromUs: number, toUs: number) {
        const result = Promise.resolve(stored.filter((c) => c.captureTsUs + 20_000 > fromUs && c.captureTsUs < toUs));
        calls.push({ deviceId, fromUs, toUs, result });
        return result;
      },
      missing: () => Promise.reject(new Error('no gap in this test')),
    };
    const h = harness({ interruption: 'immediate' }, new ToolRegistry(), history);
    await h.audio();
    const sentBefore = h.live.sent.length;
    await h.event(makeEvent('turn.end', { deviceId: 'd', turnId: 'begun-before', speechStartUs: T0 + 400_000, speechEndUs: T0 + 700_000, decidedAt: Date.now(), endOfTurnDelayMs: 700 }));
    // Read from the speech start minus the 300 ms pre-roll to the speech end.
    expect(calls.map(({ deviceId, fromUs, toUs }) => ({ deviceId, fromUs, toUs }))).toEqual([{ deviceId: 'd', fromUs: T0 + 100_000, toUs: T0 + 700_000 }]);
    await calls[0]!.result;
    await Promise.resolve();
    const recovered = h.mailbox.splice(0).map((m) => m.message);
    expect(recovered).toEqual([expect.objectContaining({ kind: 'recovered-turn', turnId: 'begun-before' })]);
    for (const m of recovered) await h.actor.handle(m);
    // activityStart, the 30 chunks from 100 to 700 ms, activityEnd: the model hears the whole turn.
    expect(h.live.sent.slice(sentBefore)).toEqual(['activityStart', ...Array(30).fill('audio'), 'activityEnd']);
    expect(h.of('user.turn.dropped')).toEqual([]);
    // Its answer is this turn's.
    await h.model(audioMsg());
    expect(h.audioOf('begun-before')).toBe(1);
  });

  it('immediate: speech the user makes before hearing anything interrupts nothing', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.answering('u1');
    await h.heard('u1', false);
    await h.speech('speech.onset');
    expect(h.controls()).toEqual([]);
  });

  it('pause: onset pauses, a blip resumes and its held turn is dropped; sustained speech interrupts and sends the held turn', async () => {
    const h = harness({ interruption: 'pause' });
    await h.answering('u1');
    await h.speech('speech.onset');
    expect(h.controls()).toEqual(['control.pause']);
    await h.heard('u1', false, true);
    await h.speech('speech.start');
    await h.turnStart('blip');
    expect(h.live.sent.filter((s) => s === 'activityStart')).toHaveLength(1);
    await h.speech('speech.end');
    await h.turnEnd('blip');
    expect(h.controls()).toEqual(['control.pause', 'control.resume']);
    expect(h.of('user.turn.dropped')).toEqual([expect.objectContaining({ turnId: 'blip', reason: 'false-interruption' })]);
    await h.heard('u1', true);
    await h.model(audioMsg());
    expect(h.audioOf('u1')).toBe(2);

    await h.speech('speech.onset');
    await h.heard('u1', false, true);
    await h.speech('speech.start');
    await h.turnStart('u2');
    await h.speech('speech.sustained');
    expect(h.controls()).toEqual(['control.pause', 'control.resume', 'control.pause', 'control.interrupt']);
    expect(h.of('control.interrupt')[0]).toMatchObject({ turnId: 'u1', byTurnId: 'u2' });
    expect(h.live.sent.filter((s) => s === 'activityStart')).toHaveLength(2);
    expect(h.of('user.turn.dropped')).toHaveLength(1);
  });

  it('deferred: confirmed speech asks playback to stop at the next pause; the held turn goes once the answer stopped', async () => {
    const h = harness({ interruption: 'deferred' });
    await h.answering('u1');
    await h.speech('speech.onset');
    expect(h.controls()).toEqual([]);
    await h.speech('speech.start');
    expect(h.of('control.flush')).toEqual([expect.objectContaining({ turnId: 'u1', at: 'pause' })]);
    await h.turn('u2');
    // Transcript timing is not the listener's: a sentence end in the text sends nothing.
    await h.model(content({ outputTranscription: { text: ' 0.6 seconds.' } }));
    expect(h.live.sent.slice(3)).toEqual([]);
    // Playback found the pause and flushed: the held turn goes with its audio and its end.
    await h.heard('u1', false);
    expect(h.live.sent.slice(3)).toEqual(['activityStart', 'audio', 'audio', 'activityEnd']);
    expect(h.of('assistant.interrupted')[0]).toMatchObject({ turnId: 'u1' });
  });

  it('deferred: with generation over, only playback remains: flush at once', async () => {
    const h = harness({ interruption: 'deferred' });
    await h.answering('u1');
    await h.model(content({ generationComplete: true }));
    await h.model(content({ turnComplete: true }));
    await h.speech('speech.start');
    expect(h.of('control.flush')).toEqual([expect.objectContaining({ turnId: 'u1' })]);
  });

  it('ignore: never interrupts; the held turn goes once the answer was heard', async () => {
    const h = harness({ interruption: 'ignore' });
    await h.answering('u1');
    for (const s of ['speech.onset', 'speech.start', 'speech.sustained'] as const) await h.speech(s);
    await h.turn('u2');
    await h.speech('speech.end');
    await h.model(content({ turnComplete: true }));
    expect(h.live.sent.filter((s) => s === 'activityStart')).toHaveLength(1);
    await h.heard('u1', false);
    expect(h.live.sent.filter((s) => s === 'activityStart')).toHaveLength(2);
    expect(h.controls()).toEqual([]);
    expect(h.of('assistant.interrupted')).toEqual([]);
  });

  it('server turn detection: the model\'s own interrupted marks the answer and flushes playback', async () => {
    const h = harness({ turnDetection: 'server' });
    await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 0 }));
    await h.audio();
    expect(h.live.sent).toEqual(['audio']);
    await h.model(audioMsg());
    await h.model(content({ interrupted: true }));
    expect(h.of('assistant.interrupted')[0]).toMatchObject({ turnId: 'd-s1', by: 'model' });
    expect(h.of('control.flush')[0]).toMatchObject({ turnId: 'd-s1', reason: 'model interrupted' });
  });

  it('skips model audio whose data is not a string, logs it once, and keeps going', async () => {
    const h = harness();
    await h.answering('u1');
    const junk = content({ modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: 12345 } }] } });
    await h.model(junk);
    await h.model(junk);
    await h.model(content({ outputTranscription: { text: { not: 'text' } } }));
    await h.model(audioMsg());
    expect(h.audioOf('u1')).toBe(2);
    expect(h.logger.lines().filter((l) => String(l.msg).includes('not base64 PCM'))).toHaveLength(1);
  });

  it('runs a tool call without holding the mailbox; the result comes back as a message', async () => {
    let finish!: (v: string) => void;
    const tools = new ToolRegistry().register('slow', () => new Promise<string>((r) => (finish = r)));
    const h = harness({}, tools);
    await h.answering('u1');
    await h.model({ toolCall: { functionCalls: [{ id: 'c1', name: 'slow', args: {} }] } } as LiveServerMessage);
    expect(h.mailbox).toEqual([]);
    finish('done');
    await new Promise((r) => setImmediate(r));
    expect(h.mailbox).toEqual([{ message: { kind: 'tool-results', responses: [{ id: 'c1', name: 'slow', response: { output: 'done' } }] }, priority: true }]);
    await h.actor.handle(h.mailbox[0]!.message);
    expect(h.live.toolResponses).toHaveLength(1);
  });

  it('a call the model cancelled (the user interrupted) gets no response; the others do', async () => {
    const finishers: ((v: string) => void)[] = [];
    const tools = new ToolRegistry().register('slow', () => new Promise<string>((r) => finishers.push(r)));
    const h = harness({}, tools);
    await h.answering('u1');
    await h.model({ toolCall: { functionCalls: [{ id: 'c1', name: 'slow', args: {} }] } } as LiveServerMessage);
    await h.model({ toolCallCancellation: { ids: ['c1'] } } as LiveServerMessage);
    await h.model({ toolCall: { functionCalls: [{ id: 'c2', name: 'slow', args: {} }] } } as LiveServerMessage);
    while (finishers.length < 2) await new Promise((r) => setImmediate(r));
    for (const f of finishers) f('done');
    while (h.mailbox.length < 2) await new Promise((r) => setImmediate(r));
    for (const m of h.mailbox) await h.actor.handle(m.message);
    expect(h.live.toolResponses.flat().map((r) => r.id)).toEqual(['c2']);
  });

  it('a user turn with no live session is dropped and said so', async () => {
    const h = harness();
    h.live.refuse = true;
    await h.turnStart('u1');
    expect(h.of('user.turn.dropped')).toEqual([expect.objectContaining({ turnId: 'u1', reason: 'no-session' })]);
  });

  it('ends a quiet session on its inactivity timer, not while the assistant is heard', async () => {
    const h = harness({ inactivityMs: 1000 });
    await h.answering('u1');
    await h.model(content({ turnComplete: true }));
    expect(h.timers.has('inactivity')).toBe(true);
    await h.actor.onTimer('inactivity');
    expect(h.live.connected).toBe(true);
    await h.heard('u1', false);
    await h.actor.onTimer('inactivity');
    expect(h.live.connected).toBe(false);
  });
});

describe('SessionActor across a NATS outage (capture held the audio, consumers came back late)', () => {
  const T0 = 1_000_000_000_000;
  /** Chunk n of the device: 20 ms at T0 + n × 20 ms, its first sample n (to tell what the model got). */
  const chunk = (n: number): AudioChunk => {
    const pcm = new Int16Array(320);
    pcm[0] = n;
    return { seq: n, captureTsUs: T0 + n * 20_000, sampleRate: 16000, channels: 1, pcm };
  };
  const storedHistory = (upTo: number) => {
    const stored = Array.from({ length: upTo }, (_, n) => chunk(n));
    const calls: string[] = [];
    return {
      calls,
      between: async (_d: string, fromUs: number, toUs: number) => {
        calls.push(`between ${(fromUs - T0) / 20_000}..${(toUs - T0) / 20_000}`);
        return stored.filter((c) => c.captureTsUs + 20_000 > fromUs && c.captureTsUs < toUs);
      },
      missing: async (_d: string, after: { seq: number }, before: { seq: number }) => {
        calls.push(`missing ${after.seq}..${before.seq}`);
        return stored.filter((c) => c.seq > after.seq && c.seq < before.seq);
      },
    };
  };
  const turnStart = (turnId: string, speechStartChunk: number) => makeEvent('turn.start', { deviceId: 'd', turnId, speechStartUs: T0 + speechStartChunk * 20_000, decidedAt: Date.now() });

  it('a chunk sent again reaches the model once; a capture that restarted (numbered from 0, later in time) is heard', async () => {
    const h = harness({}, new ToolRegistry(), storedHistory(0));
    for (let n = 0; n < 20; n++) await h.actor.handle({ kind: 'audio', chunk: chunk(n) });
    await h.event(turnStart('u1', 15));
    // The last 500 ms before the disconnect come again after it, then the audio goes on.
    for (const n of [17, 18, 19, 20, 21]) await h.actor.handle({ kind: 'audio', chunk: chunk(n) });
    const restarted = { ...chunk(0), captureTsUs: T0 + 30 * 20_000 };
    restarted.pcm = new Int16Array(320).fill(-7);
    await h.actor.handle({ kind: 'audio', chunk: restarted });
    // Pre-roll (300 ms before chunk 15: from 0), then 20, 21 once each, then the restarted stream.
    expect(h.live.sentFirstSamples).toEqual([...Array.from({ length: 22 }, (_, n) => n), -7]);
  });

  it('a forged chunk far ahead (number and time) does not make the chunks after it look heard: the device is not deafened', async () => {
    const h = harness({}, new ToolRegistry(), storedHistory(0));
    for (let n = 0; n < 20; n++) await h.actor.handle({ kind: 'audio', chunk: chunk(n) });
    await h.event(turnStart('u1', 15));
    const forged = chunk(1_000_000);
    forged.pcm[0] = -1;
    await h.actor.handle({ kind: 'audio', chunk: forged });
    for (let n = 20; n < 25; n++) await h.actor.handle({ kind: 'audio', chunk: chunk(n) });
    expect(h.live.sentFirstSamples.slice(-5)).toEqual([20, 21, 22, 23, 24]);
  });

  it('a gap in the sequence is read back from the history and heard before the next chunk, in order', async () => {
    const history = storedHistory(100);
    const h = harness({}, new ToolRegistry(), history);
    for (let n = 0; n < 20; n++) await h.actor.handle({ kind: 'audio', chunk: chunk(n) });
    await h.event(turnStart('u1', 15));
    await h.actor.handle({ kind: 'audio', chunk: chunk(40) });
    await h.actor.handle({ kind: 'audio', chunk: chunk(41) });
    expect(history.calls).toEqual(['missing 19..40']);
    expect(h.live.sentFirstSamples).toEqual(Array.from({ length: 42 }, (_, n) => n));
  });
});

describe('SessionActor when the session is lost in the middle of a user turn', () => {
  it('mid-turn: the turn is sent again on the next session, all of its audio, and answered once', async () => {
    const h = harness();
    await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 1 }));
    await h.turnStart('u1');
    await h.audio();
    h.live.lose();
    h.live.sent.length = 0;
    await h.audio(); // the next chunk opens a new session
    // Again from the start: the two chunks the lost session had, then the new one, once each.
    expect(h.live.sent).toEqual(['activityStart', 'audio', 'audio', 'audio']);
    await h.turnEnd('u1');
    expect(h.live.sent.at(-1)).toBe('activityEnd');
    await h.model(audioMsg());
    await h.model(content({ turnComplete: true }));
    expect(h.of('assistant.turn.complete').filter((e) => e.turnId === 'u1')).toHaveLength(1);
    expect(h.of('user.turn.dropped')).toEqual([]);
    expect(h.audioOf('u1')).toBe(1);
  });

  it('after the turn ended, before any answer audio: sent again with its end, no empty answer reported', async () => {
    const h = harness();
    await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 1 }));
    await h.turn('u1');
    h.live.lose();
    expect(h.of('assistant.turn.complete')).toEqual([]);
    h.live.sent.length = 0;
    await h.live.open();
    expect(h.live.sent).toEqual(['activityStart', 'audio', 'activityEnd']);
    await h.model(audioMsg());
    await h.model(content({ turnComplete: true }));
    expect(h.of('assistant.turn.complete')).toEqual([expect.objectContaining({ turnId: 'u1', interrupted: false })]);
  });

  it('an answer already heard is not asked for twice; a turn lost too often is given up and said so', async () => {
    const h = harness();
    await h.answering('u1');
    h.live.lose();
    h.live.sent.length = 0;
    await h.live.open();
    expect(h.live.sent).toEqual([]);
    await h.turn('u2');
    for (let i = 0; i < 3; i++) {
      h.live.lose();
      await h.live.open();
    }
    expect(h.of('user.turn.dropped')).toEqual([expect.objectContaining({ turnId: 'u2', reason: 'no-session' })]);
  });

  it('greets once per conversation: not again when a later session resumes it', async () => {
    const h = harness({ greeting: 'Hello! Please introduce yourself briefly.' });
    await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 1 }));
    expect(h.live.sent.filter((s) => s.startsWith('text:'))).toHaveLength(1);
    h.live.lose();
    await h.live.open();
    expect(h.live.sent.filter((s) => s.startsWith('text:'))).toHaveLength(1);
    // A new actor (a restarted service): its first session is no reconnect, but it resumes the
    // conversation, so it does not greet either.
    const again = harness({ greeting: 'Hello!' });
    again.live.resumes = true;
    await again.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 1 }));
    expect(again.live.sent.filter((s) => s.startsWith('text:'))).toEqual([]);
  });
});

describe('SessionActor and the VAD\'s onset reflex', () => {
  it('immediate: the VAD\'s reflex interrupt is taken as the session\'s own decision; no second command follows the onset', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.answering('u1');
    await h.event(makeEvent('control.interrupt', { deviceId: 'd', turnId: 'u1', reason: 'speech onset (vad reflex)' }));
    expect(h.of('assistant.interrupted')).toEqual([expect.objectContaining({ turnId: 'u1', by: 'local' })]);
    const before = h.controls().length;
    await h.speech('speech.onset');
    expect(h.controls().length).toBe(before);
    await h.model(audioMsg());
    expect(h.audioOf('u1')).toBe(1); // late audio of the interrupted answer is dropped
  });
});

describe('SessionActor with a thinking model', () => {
  it('a turnComplete waiting for input with nothing said closes the answer as waiting, not as unanswered', async () => {
    const h = harness();
    await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 1 }));
    await h.turn('u1');
    await h.model(content({ turnComplete: true, waitingForInput: true, turnCompleteReason: 'NEED_MORE_INPUT' }));
    expect(h.of('assistant.turn.complete')).toEqual([expect.objectContaining({ turnId: 'u1', audioMs: 0, waitingForInput: true })]);
  });
});

describe('SessionActor with server turn detection', () => {
  it('names the answer after the VAD turn it follows, and times the model from that turn\'s decision', async () => {
    const h = harness({ turnDetection: 'server' });
    await h.event(makeEvent('device.announced', { deviceId: 'd', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: 0, firstCaptureTsUs: 1 }));
    await h.event(makeEvent('turn.start', { deviceId: 'd', turnId: 'v1', speechStartUs: 1_000_000, decidedAt: 1000 }));
    await h.audio();
    const decidedAt = Date.now() - 250;
    await h.event(makeEvent('turn.end', { deviceId: 'd', turnId: 'v1', speechStartUs: 1_000_000, speechEndUs: 2_000_000, decidedAt, endOfTurnDelayMs: 700 }));
    // Local turn detection is off: the model hears all audio and decides the turn itself.
    expect(h.live.sent).toEqual(['audio']);
    await h.model(audioMsg());
    const first = h.of('assistant.audio.first')[0]!;
    expect(first).toMatchObject({ turnId: 'v1', requestedAt: decidedAt });
    expect(first.modelFirstAudioMs).toBeGreaterThanOrEqual(250);
    expect(h.audioOf('v1')).toBe(1);
    // An answer with no VAD turn before it (the model spoke by itself) keeps a name of its own.
    await h.model(content({ turnComplete: true }));
    await h.model(audioMsg());
    expect(h.of('assistant.audio.first')[1]!.turnId).toMatch(/^d-s\d+$/);
  });
});

describe('SessionActor: speculative end of turn', () => {
  const pause = (h: ReturnType<typeof harness>, turnId: string) => h.event(makeEvent('turn.pause', { deviceId: 'd', turnId, speechEndUs: 1, silenceMs: 250, decidedAt: Date.now() }));
  const resume = (h: ReturnType<typeof harness>, turnId: string) => h.event(makeEvent('turn.resume', { deviceId: 'd', turnId, atUs: 2, decidedAt: Date.now() }));

  it('a pause hands the turn over with playback holding the answer; the end lets it play', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.turnStart('t1');
    await pause(h, 't1');
    expect(h.live.sent.at(-1)).toBe('activityEnd');
    expect(h.controls()).toEqual(['control.pause']);
    await h.model(audioMsg());
    expect(h.audioOf('t1')).toBe(1); // playback holds it, the session does not
    await h.turnEnd('t1');
    expect(h.controls()).toEqual(['control.pause', 'control.resume']);
    expect(h.live.sent.filter((s) => s === 'activityEnd')).toHaveLength(1);
    expect(h.of('assistant.speculation').map((e) => e.outcome)).toEqual(['started', 'confirmed']);
  });

  it('speech after the pause withdraws the held answer unheard: flushed, its late output swallowed without events, the turn goes on and is answered once', async () => {
    const h = harness({ interruption: 'immediate' });
    await h.turnStart('t1');
    await pause(h, 't1');
    await h.model(audioMsg());
    await h.audio(); // captured during the pause: not sent while the turn was ended
    await resume(h, 't1');
    expect(h.controls()).toEqual(['control.pause', 'control.flush']);
    // The model hears the turn go on: activityStart, then what was captured since the pause.
    expect(h.live.sent.slice(-2)).toEqual(['activityStart', 'audio']);
    // The withdrawn answer's rest, and the model closing it, come to nothing.
    await h.model(content({ modelTurn: { parts: [{ text: 'late' }] }, outputTranscription: { text: 'Old answer.' } }));
    await h.model(audioMsg());
    await h.model(content({ interrupted: true }));
    await h.model(content({ turnComplete: true }));
    expect(h.audioOf('t1')).toBe(1);
    expect(h.of('assistant.turn.complete')).toEqual([]);
    expect(h.of('assistant.interrupted')).toEqual([]);
    expect(h.of('transcript').filter((t) => t.role === 'assistant' && t.final)).toEqual([]);
    // The real end: a fresh answer for the same turn, which can still be interrupted later.
    await h.audio();
    await h.turnEnd('t1');
    expect(h.live.sent.at(-1)).toBe('activityEnd');
    await h.model(audioMsg());
    await h.model(content({ outputTranscription: { text: 'New answer.' } }));
    await h.model(content({ turnComplete: true }));
    expect(h.audioOf('t1')).toBe(2);
    expect(h.of('assistant.turn.complete')).toMatchObject([{ turnId: 't1', interrupted: false }]);
    expect(h.of('transcript').filter((t) => t.role === 'assistant' && t.final).map((t) => t.text)).toEqual(['New answer.']);
    expect(h.of('assistant.speculation').map((e) => e.outcome)).toEqual(['started', 'withdrawn']);
  });

  it('no speculation while the assistant is still heard: the turn waits for its end', async () => {
    const h = harness({ interruption: 'ignore' });
    await h.turn('t0');
    await h.model(audioMsg());
    await h.heard('t0', true);
    await h.turnStart('t1'); // held by `ignore` while t0 plays
    await pause(h, 't1');
    expect(h.of('assistant.speculation')).toEqual([]);
    expect(h.controls()).not.toContain('control.pause');
  });
});
