import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { deviceSubject, STREAMS } from '@voicebus/protocol';
import { Bus } from './bus.ts';
import { memoryLogger } from './testing.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioHistory } from './audio-history.ts';

/** The server's own copy of the microphones, on a real nats-server with JetStream. */
let server: NatsServer;
let bus: Bus;
beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  bus = await Bus.connect({ servers: server.url, name: 'history-test', log: memoryLogger().log });
});
afterAll(async () => {
  await bus?.drain();
  await server?.stop();
});

function publish(deviceId: string, seq: number, captureTsUs: number): void {
  bus.publishAudio(deviceId, 'audio.in', { seq, captureTsUs, sampleRate: 16000, channels: 1, pcm: new Int16Array(320).fill(seq + 1) });
}

describe('AudioHistory', () => {
  it('hands back one device\'s chunks of a time range, in order, whatever else was on the bus', async () => {
    const history = (await AudioHistory.open(bus.nc, memoryLogger().log))!;
    expect(history).toBeDefined();
    // Two seconds of audio captured up to now, as a real-time device would have sent it (the
    // server files chunks by arrival, which is never before capture).
    const t0 = Date.now() * 1000 - 100 * 20_000;
    for (let i = 0; i < 100; i++) {
      publish('histA', i, t0 + i * 20_000);
      publish('histB', i, t0 + i * 20_000);
      if (i === 50) bus.nc.publish(deviceSubject('histA', STREAMS.audioIn), new Uint8Array(7)); // garbage: not replayed
    }
    await bus.flush();
    const chunks = await history.between('histA', t0 + 30 * 20_000, t0 + 70 * 20_000);
    expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 30 + i));
    expect(chunks.every((c) => c.pcm[0] === c.seq + 1)).toBe(true);
    // A second session instance opens the same stream, and a range still being spoken ends at the newest chunk.
    const again = (await AudioHistory.open(bus.nc, memoryLogger().log))!;
    expect((await again.between('histB', t0 + 90 * 20_000, t0 + 10_000 * 20_000)).map((c) => c.seq)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  });
});
