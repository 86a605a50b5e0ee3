import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { crashFor, startLocalNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { decodeEvent, deviceSubject, STREAMS, TURN_HISTORY_STREAM, type VoiceEvent } from '@voicebus/protocol';
import { Bus, nowUs, StreamHistory } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture, publishChunks } from './fixture-runner.ts';

let server: NatsServer;
let bus: Bus;
let vad: ChildProcess;
const logLines: Record<string, unknown>[] = [];
const seen: VoiceEvent[] = [];
let waiters: { pred: () => boolean; resolve: () => void }[] = [];
const wake = () => (waiters = waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true)));
const until = (pred: () => boolean) => (pred() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pred, resolve })));

beforeAll(async () => {
  server = await startLocalNatsServer();
  bus = await Bus.connect({ servers: server.url, name: 'vad-outage-test', log: memoryLogger().log });
  bus.subscribeEvents(STREAMS.turn, (e) => (seen.push(e), wake()));
  vad = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
    env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'info', VAD_MAILBOX: '20000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: vad.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    logLines.push(JSON.parse(line) as Record<string, unknown>);
    wake();
  });
  await bus.waitForService('vad');
});
afterAll(async () => {
  vad?.kill('SIGCONT');
  vad?.kill('SIGTERM');
  if (vad && vad.exitCode === null) await once(vad, 'exit');
  await bus?.drain();
  await server?.stop();
});

const turnEnds = (deviceId: string) => seen.filter((e) => e.type === 'turn.end' && e.deviceId === deviceId);

describe('a vad whose bus goes away while its mailbox still holds a turn', () => {
  it('says the turn\'s end after the reconnect, stored in the turn history: not lost with the connection', async () => {
    const device = 'held';
    const { pcm } = loadFixture('single-fast');
    const origin = nowUs();
    // A first turn, heard as usual: the vad owns the device and its actor runs.
    const next = publishChunks(bus, device, pcm, origin);
    await until(() => turnEnds(device).length === 1);
    // The vad stops reading (SIGSTOP); a second turn's audio waits in its socket. The server
    // dies; the vad, let go, hears that turn from its socket and ends it with no bus.
    vad.kill('SIGSTOP');
    publishChunks(bus, device, pcm, origin + next * 20_000, next);
    await bus.flush();
    await crashFor(server, 1000, () => vad.kill('SIGCONT'));
    await until(() => logLines.some((l) => l.deviceId === device && l.msg === 'what was held over the bus outage is sent'));
    const drained = logLines.find((l) => l.deviceId === device && l.msg === 'what was held over the bus outage is sent')!;
    expect(drained.stored as number, logLines.filter((l) => l.level !== 30 || /held|ownership|nats/.test(String(l.msg))).map((l) => JSON.stringify(l).slice(0, 300)).join('\n')).toBeGreaterThanOrEqual(1);
    // The restarted server's history (made again, empty, at the reconnect) has the second
    // turn's end: a listener that came back after the vad's drain reads it there.
    const history = (await StreamHistory.find(bus.nc, TURN_HISTORY_STREAM))!;
    const stored: VoiceEvent[] = [];
    await history.read(deviceSubject(device, STREAMS.turn), Date.now() - 30_000, (m) => void stored.push(decodeEvent(STREAMS.turn, m.data)));
    expect(stored.filter((e) => e.type === 'turn.end').length, JSON.stringify(stored.map((e) => e.type))).toBe(1);
  }, 60_000);
});
