import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { STREAMS, type AudioChunk } from '@voicebus/protocol';
import { Bus } from '@voicebus/runtime';
import { expectCalls, memoryLogger } from '@voicebus/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavAs16kMono } from './wav-file.ts';

let server: NatsServer;
let bus: Bus;
const dir = mkdtempSync(join(tmpdir(), 'capture-svc-'));

beforeAll(async () => {
  server = await startNatsServer({ useEnvUrl: false });
  bus = await Bus.connect({ servers: server.url, name: 'capture-test', log: memoryLogger().log });
});
afterAll(async () => {
  await bus?.drain();
  await server?.stop();
});

/** A WAV of exactly `seconds`, with different speech per device so streams can be told apart. */
function fixture(name: string, text: string, seconds: number, rate: number): string {
  const speech = join(dir, `${name}-speech.wav`);
  const out = join(dir, `${name}.wav`);
  execFileSync('espeak-ng', ['-w', speech, text]);
  execFileSync('sox', [speech, '-r', String(rate), '-c', '2', out, 'pad', '0', '20', 'trim', '0', String(seconds)]);
  return out;
}

describe('capture service (real process, real nats-server)', () => {
  it('paces 10 s of audio in 10 s (±2 %) for three independent devices with no sequence gaps', async () => {
    const files = {
      alpha: fixture('alpha', 'Alpha device speaking first.', 10, 44100),
      bravo: fixture('bravo', 'Bravo device has something else to say.', 10, 48000),
      charlie: fixture('charlie', 'Charlie.', 10, 22050),
    };
    const received = new Map<string, { chunk: AudioChunk; at: number }[]>();
    const ended = expectCalls<string>(3, 30_000);
    bus.subscribeAudio('audio.in', (chunk, meta) => {
      const list = received.get(meta.deviceId) ?? [];
      list.push({ chunk, at: performance.now() });
      received.set(meta.deviceId, list);
    });
    bus.subscribeEvents(STREAMS.capture, (e) => {
      if (e.type === 'device.ended') ended.push(e.deviceId);
    });
    await bus.flush();
    const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts'), ...Object.entries(files).flatMap(([id, f]) => ['--device', `${id}=file:${f}`])], {
      env: { ...process.env, NATS_URL: server.url, LOG_LEVEL: 'warn', CAPTURE_LINGER_MS: '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await ended.done;
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);

    for (const [id, file] of Object.entries(files)) {
      const got = received.get(id)!;
      expect(got.length).toBe(500); // 10 s / 20 ms
      expect(got.map((g) => g.chunk.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      // Wall time of the 10 s, from a least-squares fit of arrival time against sequence
      // number: one chunk delayed by a busy machine does not decide the result.
      const n = got.length;
      const mx = (n - 1) / 2;
      const my = got.reduce((s, g) => s + g.at, 0) / n;
      const slope = got.reduce((s, g, i) => s + (i - mx) * (g.at - my), 0) / got.reduce((s, _g, i) => s + (i - mx) ** 2, 0);
      const wallMs = slope * 499;
      expect(Math.abs(wallMs - 499 * 20) / (499 * 20)).toBeLessThan(0.02);
      // And nothing was held back or bunched: first to last arrival is 10 s give or take 5 %.
      expect(Math.abs(got.at(-1)!.at - got[0]!.at - 499 * 20)).toBeLessThan(500);
      // Each device carries its own file's audio, nothing of the others'.
      const expected = await readWavAs16kMono(file);
      const pcm = new Int16Array(got.length * 320);
      got.forEach((g, i) => pcm.set(g.chunk.pcm, i * 320));
      expect(Buffer.from(pcm.buffer, 0, expected.length * 2).equals(Buffer.from(expected.buffer))).toBe(true);
      const ts = got.map((g) => g.chunk.captureTsUs);
      expect(ts.every((t, i) => i === 0 || t - ts[i - 1]! === 20_000)).toBe(true);
    }
  }, 40_000);

  it('reports a bad device spec clearly and exits non-zero', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts'), '--device', 'bad.id=mic'], {
      env: { ...process.env, NATS_URL: server.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    expect(stderr).toContain('invalid device id "bad.id"');
  });
});
