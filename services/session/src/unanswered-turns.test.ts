import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { allDevicesSubject, ANSWER_HISTORY_STREAM, makeEvent, STREAMS, TURN_HISTORY_STREAM } from '@voicebus/protocol';
import { Bus, StreamHistory } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnansweredTurns } from './unanswered-turns.ts';

let server: NatsServer;
let bus: Bus;
beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  bus = await Bus.connect({ servers: server.url, name: 'unanswered-test', log: memoryLogger().log });
});
afterAll(async () => {
  await bus?.drain();
  await server?.stop();
});

const end = (deviceId: string, turnId: string, decidedAt: number) => makeEvent('turn.end', { deviceId, turnId, speechStartUs: (decidedAt - 2000) * 1000, speechEndUs: (decidedAt - 700) * 1000, decidedAt, endOfTurnDelayMs: 700 });

describe('UnansweredTurns: what a session that died left unanswered (real nats-server, the vad\'s and playback\'s streams)', () => {
  it('is nothing without the streams; with them, per device the last ended turn no answer began, finished or dropped, if recent', async () => {
    const log = memoryLogger().log;
    expect(await UnansweredTurns.find(bus.nc, log)).toBeUndefined();
    // Made as their owners make them (vad: turns; playback: answers).
    await StreamHistory.open(bus.nc, log, { stream: TURN_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.turn)] }, '');
    await StreamHistory.open(bus.nc, log, { stream: ANSWER_HISTORY_STREAM, subjects: [allDevicesSubject(STREAMS.audioOut), allDevicesSubject(STREAMS.session), allDevicesSubject(STREAMS.playback)] }, '');
    const now = Date.now();
    // answered: its answer began. waiting: ended, nothing since (the session died). dropped: said so.
    // twice: its first turn answered, the second not. stale: ended 20 s ago.
    for (const e of [end('answered', 'a1', now - 3000), end('waiting', 'w1', now - 2000), end('dropped', 'd1', now - 2000), end('twice', 't1', now - 8000), end('twice', 't2', now - 1000), end('stale', 's1', now - 20_000)]) bus.publishEvent(e);
    bus.publishEvent(makeEvent('assistant.audio.first', { deviceId: 'answered', turnId: 'a1', requestedAt: now - 2900, modelFirstAudioMs: 500 }));
    bus.publishEvent(makeEvent('user.turn.dropped', { deviceId: 'dropped', turnId: 'd1', reason: 'continued' }));
    bus.publishEvent(makeEvent('assistant.turn.complete', { deviceId: 'twice', turnId: 't1', interrupted: false, audioMs: 900 }));
    await bus.flush();
    const unanswered = (await UnansweredTurns.find(bus.nc, log))!;
    const found = await unanswered.find(now);
    expect(Object.fromEntries([...found].map(([d, e]) => [d, e.turnId]))).toEqual({ waiting: 'w1', twice: 't2' });
  });
});
