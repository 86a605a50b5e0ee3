import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { DEVICE_REGISTRY_STREAM, makeEvent, STREAMS, type EventOf, type PlaybackEvent } from '@voicebus/protocol';
import { Bus, nowUs } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: NatsServer;
let bus: Bus;
let child: ChildProcess;
const outDir = mkdtempSync(join(tmpdir(), 'playback-svc-'));
const events: PlaybackEvent[] = [];
let waiters: { pred: (e: PlaybackEvent) => boolean; resolve: (e: PlaybackEvent) => void }[] = [];

function waitEvent(pred: (e: PlaybackEvent) => boolean): Promise<PlaybackEvent> {
  const seen = events.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => waiters.push({ pred, resolve }));
}

beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  bus = await Bus.connect({ servers: server.url, name: 'playback-test', log: memoryLogger().log });
  bus.subscribeEvents(STREAMS.playback, (e) => {
    events.push(e);
    waiters = waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
  });
  await startPlayback();
});

async function startPlayback(): Promise<void> {
  child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts'), '--sink', `wav:${outDir}`, '--jitter-target-ms', '60'], {
    env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Ready when it answers its status request (retried: no event says a subscriber appeared).
  await bus.waitForService('playback');
}
afterAll(async () => {
  child?.kill('SIGKILL');
  await bus?.drain();
  await server?.stop();
});

/** The device's turn.latency events as they come, and the first one's arrival (subscribed before it returns). */
async function latenciesOf(deviceId: string): Promise<{ latencies: EventOf<'turn.latency'>[]; gotLatency: Promise<void> }> {
  const latencies: EventOf<'turn.latency'>[] = [];
  const gotLatency = new Promise<void>((resolve) => bus.subscribeEvents(STREAMS.turn, (e) => {
    if (e.type === 'turn.latency' && e.deviceId === deviceId) {
      latencies.push(e);
      resolve();
    }
  }, { deviceId }));
  await bus.flush();
  return { latencies, gotLatency };
}

/** Never-zero samples, so played audio can be told from jitter-buffer silence. */
const signal = (n: number, from: number) => Int16Array.from({ length: n }, (_, i) => ((from + i) % 20000) + 1);

function sendTurn(deviceId: string, turnId: string, pcm: Int16Array, complete: boolean): void {
  for (let off = 0, seq = 0; off < pcm.length; off += 960, seq++) {
    bus.publishAudio(deviceId, 'audio.out', { seq, captureTsUs: nowUs(), sampleRate: 24000, channels: 1, pcm: pcm.subarray(off, off + 960), turnId });
  }
  if (complete) bus.publishEvent(makeEvent('assistant.turn.complete', { deviceId, turnId, interrupted: false, audioMs: (pcm.length / 24000) * 1000 }));
}

/** A browser's `device.announced`: it plays the answers itself. */
const browserAnnounced = (deviceId: string, t0: number) =>
  makeEvent('device.announced', { deviceId, source: 'browser', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: t0, firstCaptureTsUs: (t0 - 5000) * 1000, playout: 'device' });

/**
 * A turn answered on a browser: the turn's end and the model's first audio, the answer (200 ms),
 * and what the browser reports: its first sample reached the speaker at t0 + 350, 40 ms after it arrived.
 */
function browserPlaysTurn(deviceId: string, turnId: string, t0: number): void {
  bus.publishEvent(makeEvent('turn.end', { deviceId, turnId, speechStartUs: (t0 - 2000) * 1000, speechEndUs: (t0 - 700) * 1000, decidedAt: t0 - 100, endOfTurnDelayMs: 600 }));
  bus.publishEvent(makeEvent('assistant.audio.first', { deviceId, turnId, requestedAt: t0 - 90, modelFirstAudioMs: 400 }));
  sendTurn(deviceId, turnId, signal(4800, 0), true);
  bus.publishEvent(makeEvent('playback.started', { deviceId, turnId, playedAt: t0 + 350, bufferMs: 40 }));
  bus.publishEvent(makeEvent('playback.finished', { deviceId, turnId, playedMs: 200 }));
}

function readWav(deviceId: string): Int16Array {
  return new wavefile.WaveFile(readFileSync(join(outDir, deviceId, 'assistant.wav'))).getSamples(false, Int16Array) as unknown as Int16Array;
}

describe('playback service (real process, real nats-server)', () => {
  it('writes the assistant audio bit-exact on the timeline, and a flush stops it within one chunk', async () => {
    const originUs = nowUs();
    bus.publishEvent(makeEvent('device.announced', { deviceId: 'p1', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: originUs }));
    const answer = signal(24000, 0); // 1 s
    sendTurn('p1', 't1', answer, true);
    const started = await waitEvent((e) => e.type === 'playback.started' && e.turnId === 't1');
    // What the user hears, said once, by playback: audible from the first sample to the end.
    const audible = await waitEvent((e) => e.type === 'assistant.audible' && e.turnId === 't1' && e.audible);
    expect(audible.type === 'assistant.audible' && started.type === 'playback.started' && audible.at).toBe(started.type === 'playback.started' ? started.playedAt : -1);
    await waitEvent((e) => e.type === 'playback.finished' && e.turnId === 't1');
    await waitEvent((e) => e.type === 'assistant.audible' && e.turnId === 't1' && !e.audible && !e.paused);
    let wav = readWav('p1');
    const first = wav.findIndex((s) => s !== 0);
    expect(Array.from(wav.subarray(first, first + answer.length))).toEqual(Array.from(answer));
    // Placed where it was heard: at playedAt on the device's timeline (within a frame).
    const expectedAt = ((started.type === 'playback.started' ? started.playedAt * 1000 : 0) - originUs) / 1e6 * 24000;
    expect(Math.abs(first - expectedAt)).toBeLessThan(480);

    // Barge-in: a long answer, flushed once it plays.
    sendTurn('p1', 't2', signal(24000 * 3, 5000), false);
    await waitEvent((e) => e.type === 'playback.started' && e.turnId === 't2');
    const flushAtUs = nowUs();
    bus.publishEvent(makeEvent('control.interrupt', { deviceId: 'p1', turnId: 't2', reason: 'test' }));
    const flushed = await waitEvent((e) => e.type === 'playback.flushed');
    await waitEvent((e) => e.type === 'assistant.audible' && e.turnId === 't2' && !e.audible && !e.paused);
    // What was buffered is dropped; audio still queued behind the interrupt (it overtakes audio) is dropped on arrival.
    expect(flushed.type === 'playback.flushed' && flushed.droppedMs).toBeGreaterThan(0);
    // Late audio of the flushed turn is dropped. The next turn, sent after it on the same
    // subject, is the barrier: once it has played, the late audio has been handled too.
    sendTurn('p1', 't2', signal(2400, 9000), true);
    // Negative samples: no signal() ever makes one, so the marker is found only where it was played.
    const marker = Int16Array.from({ length: 2400 }, (_, i) => -1 - i);
    sendTurn('p1', 't3', marker, true);
    await waitEvent((e) => e.type === 'playback.finished' && e.turnId === 't3');
    wav = readWav('p1');
    const markerAt = wav.findIndex((v, i) => v === marker[0] && wav[i + 1] === marker[1]);
    expect(Array.from(wav.subarray(markerAt, markerAt + marker.length))).toEqual(Array.from(marker));
    let last = markerAt - 1;
    while (last > 0 && wav[last] === 0) last--;
    const flushPos = ((flushAtUs - originUs) / 1e6) * 24000;
    // Before the next turn, at most one 20 ms chunk (480 samples) after the flush was sent,
    // plus transit: nothing of the late audio.
    expect(last - flushPos).toBeLessThan(480 + 240);
  });

  it('a flush at the next pause lets the answer go on to its first pause, then stops it there', async () => {
    bus.publishEvent(makeEvent('device.announced', { deviceId: 'p4', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: nowUs() }));
    // 1 s of "speech", a 200 ms pause, then 2 s more: the flush must land in the pause.
    const speech1 = signal(24000, 0);
    const pause = new Int16Array(4800);
    const speech2 = signal(48000, 3000);
    const answer = new Int16Array(speech1.length + pause.length + speech2.length);
    answer.set(speech1, 0);
    answer.set(pause, speech1.length);
    answer.set(speech2, speech1.length + pause.length);
    sendTurn('p4', 'd1', answer, true);
    await waitEvent((e) => e.type === 'playback.started' && e.turnId === 'd1');
    bus.publishEvent(makeEvent('control.flush', { deviceId: 'p4', turnId: 'd1', reason: 'test', at: 'pause' }));
    const flushed = await waitEvent((e) => e.type === 'playback.flushed' && e.turnId === 'd1');
    // About 2 s of speech were never played; none of the speech after the pause reached the sink.
    expect(flushed.type === 'playback.flushed' && flushed.droppedMs).toBeGreaterThan(1500);
    const wav = readWav('p4');
    const first = wav.findIndex((v) => v !== 0);
    const heard = wav.subarray(first);
    expect(Array.from(heard.subarray(0, speech1.length))).toEqual(Array.from(speech1));
    expect(heard.subarray(speech1.length).some((v) => v !== 0)).toBe(false);
  });

  it('a device that plays for itself (a browser): its audio is left alone, its own playback.started gives the turn\'s latency', async () => {
    const deviceId = 'selfplay';
    const { latencies, gotLatency } = await latenciesOf(deviceId);
    const t0 = Date.now();
    bus.publishEvent(browserAnnounced(deviceId, t0));
    browserPlaysTurn(deviceId, 'self-1', t0);
    await gotLatency;
    expect(latencies).toHaveLength(1);
    expect(latencies[0]!.playbackBufferMs).toBeCloseTo(40, 6);
    expect(latencies[0]!.voiceToVoiceMs).toBeCloseTo(1050, 6);
    // The service never played it: the only playback.started is the device's own.
    expect(events.filter((e) => e.deviceId === deviceId && e.type === 'playback.started')).toHaveLength(1);
    expect(events.filter((e) => e.deviceId === deviceId && e.type === 'assistant.audible')).toHaveLength(0);
  });

  it('a device that plays for itself and flushed a speculative answer unheard: the answer that follows is the turn\'s, not interrupted', async () => {
    const deviceId = 'selfspec';
    const { latencies, gotLatency } = await latenciesOf(deviceId);
    const t0 = Date.now();
    bus.publishEvent(browserAnnounced(deviceId, t0));
    // The model started at a pause; the user went on and the device dropped the held answer.
    bus.publishEvent(makeEvent('turn.pause', { deviceId, turnId: 'spec-1', speechEndUs: (t0 - 1500) * 1000, silenceMs: 100, decidedAt: t0 - 1400 }));
    bus.publishEvent(makeEvent('assistant.audio.first', { deviceId, turnId: 'spec-1', requestedAt: t0 - 1400, modelFirstAudioMs: 70 }));
    bus.publishEvent(makeEvent('playback.flushed', { deviceId, turnId: 'spec-1', droppedMs: 200 }));
    // Turn events jump the service's mailbox queue (priority): the end comes well after the
    // flush in a conversation, so here too: the device's actor has handled the four events
    // above (its own count, in the service's status) before the end is sent.
    await bus.flush();
    for (;;) {
      const status = JSON.parse((await bus.nc.request('voicebus.playback.status', undefined, { timeout: 2000 })).string()) as { devices: { deviceId: string; processed: number; queued: number }[] };
      const actor = status.devices.find((d) => d.deviceId === deviceId);
      if (actor && actor.processed >= 4 && actor.queued === 0) break;
    }
    // The turn's real end, its answer, played by the device.
    bus.publishEvent(makeEvent('turn.end', { deviceId, turnId: 'spec-1', speechStartUs: (t0 - 3000) * 1000, speechEndUs: (t0 - 700) * 1000, decidedAt: t0, endOfTurnDelayMs: 700 }));
    bus.publishEvent(makeEvent('assistant.audio.first', { deviceId, turnId: 'spec-1', requestedAt: t0 + 5, modelFirstAudioMs: 70 }));
    bus.publishEvent(makeEvent('playback.started', { deviceId, turnId: 'spec-1', playedAt: t0 + 150, bufferMs: 60 }));
    bus.publishEvent(makeEvent('playback.finished', { deviceId, turnId: 'spec-1', playedMs: 2000 }));
    await gotLatency;
    expect(latencies).toHaveLength(1);
    expect(latencies[0]!.interrupted).toBe(false);
    expect(latencies[0]!.playbackBufferMs).toBeCloseTo(60, 6);
  });

  it('answer audio that comes twice (the session sends its last 500 ms again after a NATS outage) is played once, bit-exact', async () => {
    const originUs = nowUs();
    bus.publishEvent(makeEvent('device.announced', { deviceId: 'p-twice', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: originUs }));
    const answer = signal(24000, 3000); // 1 s: 25 chunks of 40 ms
    const chunks = Array.from({ length: 25 }, (_, seq) => ({ seq, captureTsUs: originUs + seq * 40_000, sampleRate: 24000 as const, channels: 1 as const, pcm: answer.subarray(seq * 960, (seq + 1) * 960), turnId: 'twice' }));
    for (const c of [...chunks.slice(0, 15), ...chunks.slice(3, 15), ...chunks.slice(15)]) bus.publishAudio('p-twice', 'audio.out', c);
    bus.publishEvent(makeEvent('assistant.turn.complete', { deviceId: 'p-twice', turnId: 'twice', interrupted: false, audioMs: 1000 }));
    const finished = await waitEvent((e) => e.type === 'playback.finished' && e.turnId === 'twice');
    expect(finished.type === 'playback.finished' && Math.round(finished.playedMs)).toBe(1000);
    const wav = readWav('p-twice');
    const first = wav.findIndex((v) => v !== 0);
    expect(Array.from(wav.subarray(first, first + answer.length))).toEqual(Array.from(answer));
    expect(wav.subarray(first + answer.length).every((v) => v === 0)).toBe(true);
  });

  it('rejects and counts audio in the wrong format without losing the turn', async () => {
    bus.publishEvent(makeEvent('device.announced', { deviceId: 'p3', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: nowUs() }));
    bus.publishAudio('p3', 'audio.out', { seq: 0, captureTsUs: nowUs(), sampleRate: 16000, channels: 1, pcm: new Int16Array(320).fill(5), turnId: 'b1' });
    bus.nc.publish('voice.v1.p3.audio.out', new Uint8Array(963));
    sendTurn('p3', 'b1', signal(4800, 0), true);
    await waitEvent((e) => e.type === 'playback.finished' && e.turnId === 'b1');
    const stats = JSON.parse((await bus.nc.request('voicebus.playback.status', undefined, { timeout: 2000 })).string()) as { rejected: number };
    expect(stats.rejected).toBeGreaterThanOrEqual(2);
    const wav = readWav('p3');
    const first = wav.findIndex((s) => s !== 0);
    expect(Array.from(wav.subarray(first, first + 4800))).toEqual(Array.from(signal(4800, 0)));
  });

  it('leaves a valid WAV when killed with SIGKILL mid-turn', async () => {
    bus.publishEvent(makeEvent('device.announced', { deviceId: 'p2', source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: nowUs() }));
    sendTurn('p2', 'k1', signal(24000 * 5, 0), false);
    await waitEvent((e) => e.type === 'playback.started' && e.turnId === 'k1');
    await new Promise((r) => setTimeout(r, 300)); // let some audio reach the file
    child.kill('SIGKILL');
    await once(child, 'exit');
    const file = join(outDir, 'p2', 'assistant.wav');
    const seconds = Number(execFileSync('sox', ['--i', '-D', file]).toString().trim());
    expect(seconds).toBeGreaterThan(0.2);
    const stat = execFileSync('sox', [file, '-n', 'stat'], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(stat).toBeDefined();
    // The header's size matches the samples actually in the file.
    expect(readWav('p2').length).toBe(Math.round(seconds * 24000));
  });

  it('a playback killed in the middle of an answer: the next one plays the rest, from where the dead one stopped, and finishes it', async () => {
    // The previous case left the service dead; this one starts it again for its own device.
    await startPlayback();
    const deviceId = 'p5';
    bus.publishEvent(makeEvent('device.announced', { deviceId, source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: nowUs() }));
    // Sent at once, complete, as the model sends an answer: 4 s of it, all before it is heard.
    // Pseudo-random and never zero, so any 8 samples in a row say where in the answer they are.
    let x = 12345;
    const answer = Int16Array.from({ length: 24000 * 4 }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 30000) + 1);
    const whereIn = (window: Int16Array) => answer.findIndex((_, i) => window.every((v, k) => answer[i + k] === v));
    sendTurn(deviceId, 'r1', answer, true);
    await waitEvent((e) => e.type === 'playback.started' && e.turnId === 'r1');
    await new Promise((r) => setTimeout(r, 800)); // part of it is heard
    child.kill('SIGKILL');
    await once(child, 'exit');
    const heardBefore = readWav(deviceId);
    const firstHeard = heardBefore.findIndex((s) => s !== 0);
    let lastHeard = heardBefore.length - 1;
    while (heardBefore[lastHeard] === 0) lastHeard--;
    const heardSamples = lastHeard + 1 - firstHeard;
    expect(heardSamples).toBeGreaterThan(0);
    expect(heardSamples).toBeLessThan(answer.length);
    // Nothing more is sent: what the new process plays comes from the answer history.
    await startPlayback();
    const finished = await waitEvent((e) => e.type === 'playback.finished' && e.turnId === 'r1');
    expect(finished.type === 'playback.finished' && finished.unmeasured).toBe(true);
    // The file goes on with the rest: the answer's last sample is the file's last audible one,
    // and the new process started at or before where the dead one stopped (nothing skipped),
    // at most a lease heartbeat (300 ms) before it.
    const wav = readWav(deviceId);
    let end = wav.length - 1;
    while (wav[end] === 0) end--;
    expect(wav[end]).toBe(answer[answer.length - 1]);
    const resumedAt = wav.subarray(firstHeard + heardSamples).findIndex((s) => s !== 0) + firstHeard + heardSamples;
    const resumedFrom = whereIn(wav.subarray(resumedAt, resumedAt + 8));
    expect(resumedFrom).toBeGreaterThanOrEqual(0);
    expect(Array.from(wav.subarray(resumedAt, end + 1))).toEqual(Array.from(answer.subarray(resumedFrom)));
    expect(resumedFrom).toBeLessThanOrEqual(heardSamples + 480); // a playout frame of slack
    expect(heardSamples - resumedFrom).toBeLessThan(0.4 * 24000);
    // One answer, finished once.
    expect(events.filter((e) => e.deviceId === deviceId && e.type === 'playback.finished')).toHaveLength(1);
  });

  it('a playback restarted long after a browser announced itself still leaves the browser its answers (the device registry, not the minute of answer history)', async () => {
    const deviceId = 'selfplay-later';
    const t0 = Date.now();
    // Acked: the registry keeps it before the old process dies.
    await bus.storeEvent(browserAnnounced(deviceId, t0), DEVICE_REGISTRY_STREAM);
    // A new process that never heard the announcement (and no answer of this device in the history).
    child.kill('SIGKILL');
    await once(child, 'exit');
    await startPlayback();
    const { latencies, gotLatency } = await latenciesOf(deviceId);
    browserPlaysTurn(deviceId, 'later-1', t0);
    await gotLatency;
    // The browser's own report, not a playout of the service's: it never played the answer.
    expect(latencies[0]!.playbackBufferMs).toBeCloseTo(40, 6);
    expect(events.filter((e) => e.deviceId === deviceId && e.type === 'playback.started')).toHaveLength(1);
    expect(events.filter((e) => e.deviceId === deviceId && e.type === 'assistant.audible')).toHaveLength(0);
  });

  it('an answer that finishes playing while NATS is away: its playback.finished and assistant.audible are said after the reconnect', async () => {
    const deviceId = 'p-outage';
    bus.publishEvent(makeEvent('device.announced', { deviceId, source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: nowUs() }));
    sendTurn(deviceId, 'o1', signal(24000, 500), true); // 1 s
    await waitEvent((e) => e.type === 'playback.started' && e.turnId === 'o1');
    // The server dies with most of the answer still to play; playback plays it out meanwhile.
    process.kill(server.pid!, 'SIGKILL');
    await server.exited;
    await new Promise((r) => setTimeout(r, 1500)); // the outage, longer than the rest of the answer
    // This listener is back (and subscribed) before playback is let go: what it hears then
    // is what playback held, not what a race let through.
    child.kill('SIGSTOP');
    const listenerBack = new Promise<void>((resolve) => bus.onOutage({ disconnected: () => {}, reconnected: resolve }));
    await server.restart!();
    await listenerBack;
    child.kill('SIGCONT');
    const finished = await waitEvent((e) => e.type === 'playback.finished' && e.turnId === 'o1');
    expect(finished.type === 'playback.finished' && Math.round(finished.playedMs)).toBe(1000);
    await waitEvent((e) => e.type === 'assistant.audible' && !e.audible && e.deviceId === deviceId);
  });
});
