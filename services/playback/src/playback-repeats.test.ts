import { context } from '@opentelemetry/api';
import { makeEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { ActorHost, nowUs } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { describe, expect, it } from 'vitest';
import { PlaybackActor, type PlaybackMessage } from './playback-actor.ts';
import type { Sink } from './sinks.ts';

const { log } = memoryLogger();

/** `n` 40 ms chunks of an answer, each sample saying which chunk of which answer it is (never 0). */
function answer(turnId: string, n: number, base: number): AudioChunk[] {
  const t0 = nowUs();
  return Array.from({ length: n }, (_, seq) => ({ seq, captureTsUs: t0 + seq * 40_000, sampleRate: 24000 as const, channels: 1 as const, pcm: new Int16Array(960).fill(base + seq), turnId }));
}

describe('playback: an event that comes twice (a stored publish retried after an outage)', () => {
  it('a turn.end repeated after its answer was interrupted does not reopen the answer: its late audio stays unheard', async () => {
    const played = new Set<number>();
    const events: VoiceEvent[] = [];
    let onEvent = () => {};
    const sink: Sink = { description: 'test', write: (pcm) => pcm.forEach((s) => s !== 0 && played.add(s)), discard: () => {}, close: () => {} };
    const host = new ActorHost<PlaybackMessage>((ctx) => new PlaybackActor(ctx, {
      bus: { publishAudio: () => {}, tryPublishEvent: (e) => (events.push(e), onEvent(), true) },
      sink,
      jitter: { targetMs: 60 },
      counters: { rejected: 0 },
    }), log);
    const d = 'rep';
    const event = (e: VoiceEvent) => host.deliver(d, { message: { kind: 'event', event: e }, droppable: false });
    const audio = (c: AudioChunk) => host.deliver(d, { message: { kind: 'audio', chunk: c, receivedAtUs: nowUs(), parent: context.active() }, droppable: true });
    const end = (turnId: string) => makeEvent('turn.end', { deviceId: d, turnId, speechStartUs: 1_000_000, speechEndUs: 2_000_000, decidedAt: 1_700_000_000_000, endOfTurnDelayMs: 700 });
    const first = answer('u1', 10, 100);
    event(end('u1'));
    for (const c of first.slice(0, 5)) audio(c);
    event(makeEvent('control.interrupt', { deviceId: d, turnId: 'u1' }));
    // The vad's turn.end of u1 again, then the rest of u1's audio, which was on its way.
    event(end('u1'));
    for (const c of first.slice(5)) audio(c);
    // The next answer, played to its end: by then anything of u1 let through would have played.
    const next = answer('u2', 3, 1000);
    const finished = new Promise<void>((resolve) => (onEvent = () => events.some((e) => e.type === 'playback.finished' && e.turnId === 'u2') && resolve()));
    event(end('u2'));
    for (const c of next) audio(c);
    event(makeEvent('assistant.turn.complete', { deviceId: d, turnId: 'u2', interrupted: false, audioMs: 120 }));
    await finished;
    expect([...played].filter((s) => s >= 105 && s < 110)).toEqual([]);
    expect([...played].filter((s) => s >= 1000)).toEqual([1000, 1001, 1002]);
    await host.close();
  });
});
