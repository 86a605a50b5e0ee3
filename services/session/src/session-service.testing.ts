// The session service's end-to-end test stack: nats-server, the simulator, the service as a
// child process, and a test that acts as capture, VAD and playback around it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startGeminiLiveSim, type GeminiLiveSim, type SimSession } from '@voicebus/gemini-live-sim';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { makeEvent, STREAMS, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { Bus, nowUs } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll } from 'vitest';

let server: NatsServer;
export let sim: GeminiLiveSim;
export let bus: Bus;
export const children: ChildProcess[] = [];
const events: VoiceEvent[] = [];
export const audioOut: { deviceId: string; chunk: AudioChunk }[] = [];
let waiters: { pred: () => boolean; resolve: () => void }[] = [];
const check = () => (waiters = waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true)));

export function until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
  });
}

export const of = (deviceId: string) => events.filter((e) => e.deviceId === deviceId);
export const typed = <T extends VoiceEvent['type']>(deviceId: string, type: T) => of(deviceId).filter((e): e is Extract<VoiceEvent, { type: T }> => e.type === type);

export async function stopSessions(): Promise<void> {
  await Promise.all(children.splice(0).map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : (c.once('exit', r), c.kill('SIGTERM'))))));
}

/** One session service at a time: every instance serves every device. */
export function withService(strategy: string): void {
  beforeAll(() => startSession(strategy));
  afterAll(() => stopSessions());
}

export async function startSession(strategy: string, extra: string[] = []): Promise<void> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts'), '--interruption', strategy, '--var', 'assistant_name=Testy', ...extra], {
    env: { ...process.env, NATS_URL: server.url, GEMINI_LIVE_URL: sim.url, LOG_LEVEL: 'warn', INSTANCE_ID: `session-${strategy}` },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  await bus.waitForService('session', `session-${strategy}`);
}

/** The test's NATS server, simulator and bus connection, for the whole file. */
export function useStack(): void {
  beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  // The simple preset: these scenarios script the model's timing (speed, faults) themselves.
  sim = await startGeminiLiveSim({ preset: 'simple', firstAudioDelayMs: 100, speed: 2 });
  bus = await Bus.connect({ servers: server.url, name: 'session-test', log: memoryLogger().log });
  for (const stream of [STREAMS.session, STREAMS.control] as const) bus.subscribeEvents(stream, (e) => (events.push(e), check()));
  bus.subscribeAudio('audio.out', (chunk, meta) => (audioOut.push({ deviceId: meta.deviceId, chunk }), check()));
});
afterAll(async () => {
  await stopSessions();
  await bus?.drain();
  await sim?.close();
  await server?.stop();
});
}

export function device(strategy: string, name: string): string {
  return `${strategy}-${name}`;
}

export const tone = (ms: number) => Int16Array.from({ length: (16000 * ms) / 1000 }, (_, i) => Math.round(Math.sin(i / 3) * 9000));

/** Acts as capture + VAD: a user turn of `ms` of audio. */
export async function userTurn(deviceId: string, turnId: string, ms = 600, end = true): Promise<void> {
  const start = nowUs();
  bus.publishEvent(makeEvent('turn.start', { deviceId, turnId, speechStartUs: start, decidedAt: start / 1000 }));
  const pcm = tone(ms);
  for (let i = 0, seq = 0; i < pcm.length; i += 320, seq++) {
    bus.publishAudio(deviceId, 'audio.in', { seq, captureTsUs: start + i * 62.5, sampleRate: 16000, channels: 1, pcm: pcm.subarray(i, i + 320) });
  }
  if (end) bus.publishEvent(makeEvent('turn.end', { deviceId, turnId, speechStartUs: start, speechEndUs: start + ms * 1000, decidedAt: Date.now(), endOfTurnDelayMs: 0 }));
  await bus.flush();
}

/** Acts as playback: what the user hears now. */
export function audible(deviceId: string, turnId: string | undefined, on: boolean, paused = false): void {
  bus.publishEvent(makeEvent('assistant.audible', { deviceId, ...(turnId ? { turnId } : {}), audible: on, paused, at: Date.now() }));
}

/** Acts as the VAD: a fact about the user's voice. */
export function speech(deviceId: string, type: 'speech.onset' | 'speech.misfire' | 'speech.start' | 'speech.sustained' | 'speech.end'): void {
  const us = nowUs();
  const decidedAt = us / 1000;
  if (type === 'speech.onset' || type === 'speech.misfire') bus.publishEvent(makeEvent(type, { deviceId, atUs: us, decidedAt }));
  else if (type === 'speech.start') bus.publishEvent(makeEvent(type, { deviceId, speechStartUs: us, decidedAt, inferenceMs: 1 }));
  else if (type === 'speech.sustained') bus.publishEvent(makeEvent(type, { deviceId, speechStartUs: us - 600_000, atUs: us, sustainedMs: 600, decidedAt }));
  else bus.publishEvent(makeEvent(type, { deviceId, speechStartUs: us - 200_000, speechEndUs: us, decidedAt, inferenceMs: 1 }));
}

export const controls = (deviceId: string) => of(deviceId).filter((e) => e.type.startsWith('control.'));

export const completed = (deviceId: string, turnId: string) => typed(deviceId, 'assistant.turn.complete').find((e) => e.turnId === turnId);
const simFor = async (deviceId: string): Promise<SimSession> => {
  await until(() => typed(deviceId, 'session.opened').length > 0, `${deviceId} session`);
  return sim.sessions.filter((s) => s.setup).at(-1)!;
};
/** Opens a device's session and returns the simulator's side of it. */
export async function open(deviceId: string): Promise<SimSession> {
  const next = sim.nextSession();
  bus.publishEvent(makeEvent('device.announced', { deviceId, source: 'test', sampleRate: 16000, channels: 1, chunkMs: 20, startedAt: Date.now(), firstCaptureTsUs: nowUs() }));
  const s = await next;
  await simFor(deviceId);
  return s;
}
