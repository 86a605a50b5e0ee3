import { context } from '@opentelemetry/api';
import { startLocalNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { ANSWER_HISTORY_STREAM, makeEvent, STREAMS, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { ActorHost, AudioHistory, Bus, nowUs } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerHistory } from './answer-history.ts';
import { PlaybackActor, type PlaybackMessage } from './playback-actor.ts';
import type { Sink } from './sinks.ts';

let server: NatsServer;
let bus: Bus;
const { log } = memoryLogger();

beforeAll(async () => {
  server = await startLocalNatsServer();
  bus = await Bus.connect({ servers: server.url, name: 'playback-gap-test', log });
  await AnswerHistory.open(bus.nc, log);
});
afterAll(async () => {
  await bus?.drain();
  await server?.stop();
});

/** An answer of `n` 40 ms chunks, each sample saying where in the answer it is (never 0). */
function answer(turnId: string, n: number): AudioChunk[] {
  const t0 = nowUs();
  return Array.from({ length: n }, (_, seq) => ({ seq, captureTsUs: t0 + seq * 40_000, sampleRate: 24000 as const, channels: 1 as const, pcm: Int16Array.from({ length: 960 }, (_, i) => ((seq * 960 + i) % 30000) + 1), turnId }));
}

/** A playback actor of the service's kind, on the real answer history, its sink and events recorded. */
async function playback(deviceId: string, withHistory: boolean) {
  const played: number[] = [];
  const events: VoiceEvent[] = [];
  let onEvent = () => {};
  const answerAudio = withHistory ? await AudioHistory.find(bus.nc, log, ANSWER_HISTORY_STREAM, STREAMS.audioOut, { fetchTimeoutMs: 1000 }) : undefined;
  const sink: Sink = { description: 'test', write: (pcm) => void played.push(...pcm.filter((s) => s !== 0)), discard: () => {}, close: () => {} };
  const host = new ActorHost<PlaybackMessage>((ctx) => new PlaybackActor(ctx, {
    bus: { publishAudio: () => {}, tryPublishEvent: (e) => (events.push(e), onEvent(), true) },
    sink,
    jitter: { targetMs: 60 },
    counters: { rejected: 0 },
    answerAudio,
  }), log);
  const deliver = (chunk: AudioChunk) => host.deliver(deviceId, { message: { kind: 'audio', chunk, receivedAtUs: nowUs(), parent: context.active() }, droppable: true });
  const finished = (turnId: string) => new Promise<void>((resolve) => {
    onEvent = () => events.some((e) => e.type === 'playback.finished' && e.turnId === turnId) && resolve();
    onEvent();
  });
  return { host, deliver, played, finished };
}

describe('playback: a gap in an answer\'s audio (its subscription came back late, a cluster node lost)', () => {
  it.each([
    ['is read back from the answer history and played in its place, in order', true],
    ['without the history, is a hole in the answer', false],
  ])('%s', async (_name, withHistory) => {
    const deviceId = `gap-${withHistory}`;
    const turnId = `${deviceId}-1`;
    const chunks = answer(turnId, 20);
    // The session sent all of it; the history kept it (acked).
    for (const c of chunks) await bus.storeAudio(deviceId, 'audio.out', c, ANSWER_HISTORY_STREAM);
    const p = await playback(deviceId, withHistory);
    // This playback heard 0-4 and 12-19: 5-11 went by while its subscription was away.
    for (const c of [...chunks.slice(0, 5), ...chunks.slice(12)]) p.deliver(c);
    const { host } = p;
    host.deliver(deviceId, { message: { kind: 'event', event: makeEvent('assistant.turn.complete', { deviceId, turnId, interrupted: false, audioMs: 800 }) }, droppable: false });
    await p.finished(turnId);
    const whole = chunks.flatMap((c) => [...c.pcm]);
    if (withHistory) expect(p.played).toEqual(whole);
    else expect(p.played).toEqual([...chunks.slice(0, 5), ...chunks.slice(12)].flatMap((c) => [...c.pcm]));
    await host.close();
  });

  it.each([
    ['its first chunks, of an answer nothing of which was heard, are read back and played first', true],
    ['without the history, the answer starts where it was first heard', false],
  ])('%s', async (_name, withHistory) => {
    const deviceId = `start-${withHistory}`;
    // An earlier answer of the device, heard whole: its chunks (numbered 0-2 too) are not this one's.
    const before = answer(`${deviceId}-0`, 3);
    const turnId = `${deviceId}-1`;
    const chunks = answer(turnId, 12);
    for (const c of [...before, ...chunks]) await bus.storeAudio(deviceId, 'audio.out', c, ANSWER_HISTORY_STREAM);
    const p = await playback(deviceId, withHistory);
    for (const c of before) p.deliver(c);
    p.host.deliver(deviceId, { message: { kind: 'event', event: makeEvent('assistant.turn.complete', { deviceId, turnId: `${deviceId}-0`, interrupted: false, audioMs: 120 }) }, droppable: false });
    await p.finished(`${deviceId}-0`);
    p.played.length = 0;
    // 0-3 of the next answer went by while this subscription was away.
    for (const c of chunks.slice(4)) p.deliver(c);
    p.host.deliver(deviceId, { message: { kind: 'event', event: makeEvent('assistant.turn.complete', { deviceId, turnId, interrupted: false, audioMs: 480 }) }, droppable: false });
    await p.finished(turnId);
    expect(p.played).toEqual((withHistory ? chunks : chunks.slice(4)).flatMap((c) => [...c.pcm]));
    await p.host.close();
  });
});
