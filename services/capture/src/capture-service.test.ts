import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashFor, startNatsServer, type NatsServer } from '@voicebus/nats-launcher';
import { STREAMS, type AudioChunk } from '@voicebus/protocol';
import { AudioHistory, Bus } from '@voicebus/runtime';
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

  it('a nats-server killed for 1.5 s while a device speaks: every chunk reaches the server, in order, nothing lost (held, then stored in the audio history)', async () => {
    const file = fixture('outage', 'The server goes away while I am talking, and nothing I say is lost.', 6, 16000);
    // A server of this test's own: it is killed. The test's bus keeps the audio history as
    // the session does (made again when the restarted server is back).
    const own = await startNatsServer({ useEnvUrl: false });
    const log = memoryLogger().log;
    const listener = await Bus.connect({ servers: own.url, name: 'outage-test', log });
    const history = (await AudioHistory.open(listener.nc, log))!;
    const live: AudioChunk[] = [];
    let onChunk = () => {};
    listener.subscribeAudio('audio.in', (chunk) => (live.push(chunk), onChunk()));
    const ended = expectCalls<number>(1, 40_000);
    listener.subscribeEvents(STREAMS.capture, (e) => {
      if (e.type === 'device.ended') ended.push(e.lastSeq);
    });
    await listener.flush();
    const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts'), '--device', `outage=file:${file}`], {
      env: { ...process.env, NATS_URL: own.url, LOG_LEVEL: 'warn', CAPTURE_LINGER_MS: '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      // 1 s into the audio, the server dies; it is back 1.5 s later, its memory streams gone.
      await new Promise<void>((resolve) => (onChunk = () => live.length === 50 && resolve()));
      let liveBefore = 0;
      await crashFor(own, 1500, () => (liveBefore = live.length));
      const [lastSeq] = await ended.done;
      expect(lastSeq).toBe(299);
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      // What this consumer got live, and what the history holds since the restart (a
      // consumer that resubscribed late reads its gap there), together: the whole file.
      const stored = await history.between('outage', live[0]!.captureTsUs, live[0]!.captureTsUs + 7_000_000);
      const bySeq = new Map<number, AudioChunk>();
      for (const c of [...live, ...stored]) if (!bySeq.has(c.seq)) bySeq.set(c.seq, c);
      expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(live.length - liveBefore, 'audio arrived after the restart').toBeGreaterThan(0);
      // The history has the outage's audio in order, every chunk once.
      const storedSeqs = stored.map((c) => c.seq);
      expect(storedSeqs).toEqual([...storedSeqs].sort((a, b) => a - b));
      expect(storedSeqs[0]!).toBeLessThanOrEqual(liveBefore);
      const expected = await readWavAs16kMono(file);
      const pcm = new Int16Array(300 * 320);
      for (const [seq, c] of bySeq) pcm.set(c.pcm, seq * 320);
      expect(Buffer.from(pcm.buffer, 0, expected.length * 2).equals(Buffer.from(expected.buffer))).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await listener.drain();
      await own.stop();
    }
  }, 60_000);

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
