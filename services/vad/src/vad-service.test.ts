import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { headers } from '@nats-io/nats-core';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { encodeAudioChunk, makeEvent, STREAMS, type VoiceEvent } from '@voicebus/protocol';
import { Bus, nowUs } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture, publishChunks, trueTurns } from './fixture-runner.ts';

let server: NatsServer;
let bus: Bus;
let child: ChildProcess;
const seen: VoiceEvent[] = [];
let waiters: { pred: () => boolean; resolve: () => void }[] = [];
const until = (pred: () => boolean) => (pred() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pred, resolve })));

beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  bus = await Bus.connect({ servers: server.url, name: 'vad-test', log: memoryLogger().log });
  for (const stream of [STREAMS.turn, STREAMS.vad, STREAMS.control] as const) {
    bus.subscribeEvents(stream, (e) => {
      seen.push(e);
      waiters = waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
    });
  }
  child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
    // The test publishes whole fixtures at once (fast-forward), so the mailbox must hold them;
    // in real time a device never has more than a few chunks queued.
    env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'warn', VAD_MAILBOX: '20000' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await bus.waitForService('vad');
});
afterAll(async () => {
  child?.kill('SIGTERM');
  await bus?.drain();
  await server?.stop();
});

const publishFixture = (deviceId: string, pcm: Int16Array, originUs: number, seqFrom = 0) => publishChunks(bus, deviceId, pcm, originUs, seqFrom);

const turnsOf = (deviceId: string) => seen.filter((e): e is Extract<VoiceEvent, { type: 'turn.end' }> => e.type === 'turn.end' && e.deviceId === deviceId);

describe('vad service (real process, real nats-server)', () => {
  it('detects each device\'s turns independently, with boundaries within 150 ms and distinct turn ids', async () => {
    const a = loadFixture('three-turns-2s');
    const b = loadFixture('conversation');
    const origin = nowUs();
    publishFixture('va', a.pcm, origin);
    publishFixture('vb', b.pcm, origin);
    await until(() => turnsOf('va').length >= 3 && turnsOf('vb').length >= 4);
    for (const [id, fixture] of [['va', a], ['vb', b]] as const) {
      const truth = trueTurns(fixture.truth);
      const got = turnsOf(id);
      expect(got).toHaveLength(truth.length);
      got.forEach((t, i) => {
        expect(Math.abs((t.speechStartUs - origin) / 1000 - truth[i]!.startMs)).toBeLessThan(150);
        expect(Math.abs((t.speechEndUs - origin) / 1000 - truth[i]!.endMs)).toBeLessThan(150);
      });
    }
    const ids = [...turnsOf('va'), ...turnsOf('vb')].map((t) => t.turnId);
    expect(new Set(ids).size).toBe(ids.length);
    // Every turn.end has its turn.start first, with the same id.
    for (const t of turnsOf('va')) {
      const start = seen.findIndex((e) => e.type === 'turn.start' && e.turnId === t.turnId);
      expect(start, `${t.turnId} started`).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThan(seen.indexOf(t));
    }
  });

  it('rejects and counts garbage audio without harming the actor or other devices', async () => {
    const h = (over: Record<string, string>) => {
      const hs = headers();
      for (const [k, v] of Object.entries({ ...encodeAudioChunk({ seq: 0, captureTsUs: 1, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) }).headers, ...over })) hs.set(k, v);
      return hs;
    };
    bus.nc.publish('voice.v1.vg.audio.in', new Uint8Array(641), { headers: h({}) }); // odd length
    bus.nc.publish('voice.v1.vg.audio.in', new Uint8Array(640), { headers: h({ 'Voice-Sample-Rate': '12345' }) });
    bus.nc.publish('voice.v1.vg.audio.in', new Uint8Array(16000 * 2 * 5), { headers: h({}) }); // 5 s: too large
    bus.nc.publish('voice.v1.vg.audio.in', new Uint8Array(640).fill(0xff), { headers: h({ 'Voice-Seq': 'NaN' }) });
    bus.nc.publish('voice.v1.vg.audio.in', new Uint8Array(640), { headers: h({ 'Voice-Channels': '2', 'Voice-Sample-Rate': '16000' }) }); // stereo: actor rejects
    // NaN-like bit patterns are valid PCM: accepted, and must not break the device.
    bus.publishAudio('vg', 'audio.in', { seq: 0, captureTsUs: nowUs(), sampleRate: 16000, channels: 1, pcm: new Int16Array(320).fill(-32768) });
    const origin = nowUs() + 20_000;
    publishFixture('vg', loadFixture('single-hello').pcm, origin, 1);
    await until(() => turnsOf('vg').length >= 1);
    const stats = JSON.parse((await bus.nc.request('voicebus.vad.status', undefined, { timeout: 2000 })).string()) as { rejected: number };
    expect(stats.rejected).toBeGreaterThanOrEqual(5);
    expect(turnsOf('vg')).toHaveLength(1);
  });

  it('notices a capture restart (sequence back to 0): counted, state reset, turns still found', async () => {
    const { pcm } = loadFixture('single-hello');
    const half = pcm.subarray(0, 16000); // the capture dies one second in, mid-utterance
    publishFixture('vr', half, nowUs());
    const restartedAt = nowUs() + 1_100_000;
    publishFixture('vr', pcm, restartedAt); // a fresh run: sequence starts at 0 again
    await until(() => turnsOf('vr').some((t) => t.speechStartUs >= restartedAt));
    const stats = JSON.parse((await bus.nc.request('voicebus.vad.status', undefined, { timeout: 2000 })).string()) as { captureRestarts: number };
    expect(stats.captureRestarts).toBeGreaterThanOrEqual(1);
    const after = turnsOf('vr').filter((t) => t.speechStartUs >= restartedAt);
    expect(after).toHaveLength(1);
  });

  it('one chunk numbered 0 in the middle of a turn (forged or replayed) does not cut the turn in two', async () => {
    // Old code: any 0 was a capture restart; the VAD reset and the turn came out as two.
    const { pcm, truth } = loadFixture('single-hello');
    const origin = nowUs();
    const seg = trueTurns(truth)[0]!;
    const mid = Math.floor(((seg.startMs + seg.endMs) / 2) * 16); // a sample in the middle of the speech
    const first = Math.ceil(mid / 320) * 320;
    const next = publishFixture('vz', pcm.subarray(0, first), origin);
    bus.publishAudio('vz', 'audio.in', { seq: 0, captureTsUs: origin, sampleRate: 16000, channels: 1, pcm: pcm.subarray(0, 320) });
    const seq = publishFixture('vz', pcm.subarray(first), origin + (first / 16) * 1000, next);
    bus.publishEvent(makeEvent('device.ended', { deviceId: 'vz', reason: 'end-of-stream', lastSeq: seq - 1, lastCaptureTsUs: origin + (pcm.length / 16) * 1000 }));
    // The turn that holds the end of the speech: a cut turn would have ended once before it.
    await until(() => turnsOf('vz').some((t) => t.speechEndUs >= origin + (seg.endMs - 300) * 1000));
    expect(turnsOf('vz')).toHaveLength(1);
    const [turn] = turnsOf('vz');
    expect(Math.abs((turn!.speechStartUs - origin) / 1000 - seg.startMs)).toBeLessThan(150);
    expect(Math.abs((turn!.speechEndUs - origin) / 1000 - seg.endMs)).toBeLessThan(150);
  });

  it('one chunk with a huge sequence number does not make the device deaf', async () => {
    // Old code: every later chunk had a lower number than the forged one and was dropped as late.
    const { pcm } = loadFixture('single-hello');
    const origin = nowUs();
    bus.publishAudio('vs', 'audio.in', { seq: 0, captureTsUs: origin - 20_000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) });
    bus.publishAudio('vs', 'audio.in', { seq: 2 ** 40, captureTsUs: origin - 10_000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) });
    publishFixture('vs', pcm, origin, 1);
    await until(() => turnsOf('vs').length > 0);
    expect(turnsOf('vs')).toHaveLength(1);
  });

  it('publishes facts, never commands: onset before the turn, sustained speech, and the end; duringAssistant from assistant.audible', async () => {
    bus.publishEvent(makeEvent('assistant.audible', { deviceId: 'vi', turnId: 'assistant-1', audible: true, paused: false, at: Date.now() }));
    await bus.flush();
    const { pcm, truth } = loadFixture('single-hello');
    const origin = nowUs();
    publishFixture('vi', pcm, origin);
    await until(() => seen.some((e) => e.type === 'speech.end' && e.deviceId === 'vi'));
    const mine = seen.filter((e) => e.deviceId === 'vi');
    const onset = mine.findIndex((e) => e.type === 'speech.onset');
    const start = mine.findIndex((e) => e.type === 'speech.start');
    const turnStart = mine.find((e) => e.type === 'turn.start');
    // The first voiced frame is reported before the speech is even confirmed as a turn.
    expect(onset).toBeGreaterThanOrEqual(0);
    expect(onset).toBeLessThan(start);
    expect(turnStart).toMatchObject({ duringAssistant: true });
    const speech = truth.segments[0]!;
    const onsetEvent = mine[onset]!;
    expect(onsetEvent.type === 'speech.onset' && Math.abs((onsetEvent.atUs - origin) / 1000 - speech.startMs)).toBeLessThan(150);
    // 2.2 s of continuous speech: sustained once, 600 ms (the default) after its onset.
    const sustained = mine.filter((e) => e.type === 'speech.sustained');
    expect(sustained).toHaveLength(1);
    expect(sustained[0]!.type === 'speech.sustained' && onsetEvent.type === 'speech.onset' && (sustained[0]!.atUs - onsetEvent.atUs) / 1000).toBeGreaterThanOrEqual(600);
    // The VAD decides nothing about the assistant.
    expect(mine.some((e) => e.type.startsWith('control.'))).toBe(false);
    expect(truth.segments).toHaveLength(1);
  });

  it('sends the fast command the session asked for (its onset reflex) once per audible answer, before the onset', async () => {
    bus.publishEvent(makeEvent('session.opened', { deviceId: 'vx', model: 'm', resumed: false, turnDetection: 'local', interruption: 'immediate', onsetReflex: 'interrupt' }));
    bus.publishEvent(makeEvent('assistant.audible', { deviceId: 'vx', turnId: 'assistant-1', audible: true, paused: false, at: Date.now() }));
    await bus.flush();
    const { pcm } = loadFixture('single-hello');
    publishFixture('vx', pcm, nowUs());
    await until(() => seen.some((e) => e.type === 'speech.end' && e.deviceId === 'vx'));
    const mine = seen.filter((e) => e.deviceId === 'vx');
    const interrupts = mine.filter((e) => e.type === 'control.interrupt');
    expect(interrupts).toEqual([expect.objectContaining({ turnId: 'assistant-1' })]);
    expect(mine.indexOf(interrupts[0]!)).toBeLessThan(mine.findIndex((e) => e.type === 'speech.onset'));
  });
});
