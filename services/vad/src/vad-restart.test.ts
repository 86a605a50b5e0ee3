import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { makeEvent, STREAMS, type VoiceEvent } from '@voicebus/protocol';
import { Bus, nowUs } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture, publishChunks, trueTurns } from './fixture-runner.ts';

let server: NatsServer;
let bus: Bus;
const seen: VoiceEvent[] = [];
let waiters: { pred: () => boolean; resolve: () => void }[] = [];
const until = (pred: () => boolean) => (pred() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pred, resolve })));

beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  bus = await Bus.connect({ servers: server.url, name: 'vad-restart-test', log: memoryLogger().log });
  bus.subscribeEvents(STREAMS.turn, (e) => {
    seen.push(e);
    waiters = waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
  });
});
afterAll(async () => {
  await bus?.drain();
  await server?.stop();
});

/** A vad process as the demo runs it: a restart keeps its instance id. */
async function startVad(extraEnv: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
    env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'warn', VAD_MAILBOX: '20000', INSTANCE_ID: 'vad', ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await bus.waitForService('vad');
  return child;
}

/** Samples `fromSample` to `toSample` (multiples of a chunk) of the device's microphone, as capture sends them. */
function publish(deviceId: string, pcm: Int16Array, originUs: number, fromSample: number, toSample: number): void {
  publishChunks(bus, deviceId, pcm.subarray(fromSample, toSample), originUs + (fromSample / 16) * 1000, fromSample / 320);
}

const ofType = <T extends VoiceEvent['type']>(deviceId: string, type: T) => seen.filter((e): e is Extract<VoiceEvent, { type: T }> => e.deviceId === deviceId && e.type === type);

describe('a vad killed in the middle of a user turn', () => {
  it.each([
    ['goes on with the turn from the turn history: one turn, ended under the id it started with', '30', true],
    ['without the history (TURN_HISTORY_S=0) the turn it started never ends, and a second one starts late (its head cut)', '0', false],
  ])('%s', async (_name, historyS, goesOn) => {
    const device = `restart-${historyS}`;
    const { pcm, truth } = loadFixture('single-hello');
    const seg = trueTurns(truth)[0]!;
    const origin = nowUs();
    const first = await startVad({ TURN_HISTORY_S: historyS });
    // Speech confirmed, the turn started; then kill -9 with the user still talking.
    const cut = Math.ceil((((seg.startMs + seg.endMs) / 2) * 16) / 320) * 320;
    publish(device, pcm, origin, 0, cut);
    await until(() => ofType(device, 'turn.start').length === 1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = await startVad({ TURN_HISTORY_S: historyS });
    publish(device, pcm, origin, cut, pcm.length - (pcm.length % 320));
    bus.publishEvent(makeEvent('device.ended', { deviceId: device, reason: 'end-of-stream', lastSeq: Math.floor(pcm.length / 320) - 1, lastCaptureTsUs: origin + (pcm.length / 16) * 1000 }));
    // The turn that holds the end of the speech.
    await until(() => ofType(device, 'turn.end').some((t) => t.speechEndUs >= origin + (seg.endMs - 300) * 1000));
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    const starts = ofType(device, 'turn.start');
    const ends = ofType(device, 'turn.end');
    expect(ends).toHaveLength(1);
    if (!goesOn) {
      expect(starts).toHaveLength(2);
      expect(ends[0]!.turnId).toBe(starts[1]!.turnId);
      expect((ends[0]!.speechStartUs - origin) / 1000 - seg.startMs).toBeGreaterThan(300);
    } else {
      expect(starts).toHaveLength(1);
      expect(ends[0]!.turnId).toBe(starts[0]!.turnId);
      expect(Math.abs((ends[0]!.speechStartUs - origin) / 1000 - seg.startMs)).toBeLessThan(150);
      expect(Math.abs((ends[0]!.speechEndUs - origin) / 1000 - seg.endMs)).toBeLessThan(150);
    }
  }, 60_000);

  it('a turn spoken entirely while no vad ran is heard late from the audio history: its turn.end alone, with its own speech start and end', async () => {
    const device = 'restart-gap';
    const { pcm, truth } = loadFixture('single-hello');
    const seg = trueTurns(truth)[0]!;
    const origin = nowUs();
    // One chunk while a vad runs (it makes the histories), then none runs while the user speaks.
    const first = await startVad();
    publish(device, pcm, origin, 0, 320);
    await bus.flush();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const end = pcm.length - (pcm.length % 320);
    publish(device, pcm, origin, 320, end - 320);
    await bus.flush();
    const second = await startVad();
    publish(device, pcm, origin, end - 320, end); // the first chunk the new vad hears
    await until(() => ofType(device, 'turn.end').length > 0);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    const [turn] = ofType(device, 'turn.end');
    expect(ofType(device, 'turn.end')).toHaveLength(1);
    expect(ofType(device, 'turn.start')).toHaveLength(0);
    expect(Math.abs((turn!.speechStartUs - origin) / 1000 - seg.startMs)).toBeLessThan(150);
    expect(Math.abs((turn!.speechEndUs - origin) / 1000 - seg.endMs)).toBeLessThan(150);
  }, 60_000);
});
