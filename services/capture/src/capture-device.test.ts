import { PassThrough } from 'node:stream';
import type { AudioChunk } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { CaptureDevice, type CaptureAnnouncement, type CaptureEnd } from './capture-device.ts';
import { Chunker } from './chunker.ts';
import type { PacingClock } from './clock.ts';
import { RawStreamSource, type AudioSource } from './sources.ts';

/** A virtual clock whose sleeps always overshoot, like a busy event loop's timers. */
function lateClock(overshootMs: number) {
  let now = 1000;
  const requested: number[] = [];
  const clock: PacingClock = {
    monotonicMs: () => now,
    epochUs: () => 1_700_000_000_000_000 + Math.round(now * 1000),
    sleepUntil: async (at) => {
      requested.push(at);
      if (at > now) now = at + overshootMs;
    },
  };
  return { clock, requested, advance: (ms: number) => (now += ms), now: () => now };
}

function memorySource(pcm: Int16Array): AudioSource {
  return {
    description: 'memory',
    realtime: false,
    async *read() {
      yield pcm;
    },
    stop() {},
  };
}

function collect() {
  const chunks: AudioChunk[] = [];
  const announcements: CaptureAnnouncement[] = [];
  const ends: CaptureEnd[] = [];
  return { chunks, announcements, ends, output: { announce: (a: CaptureAnnouncement) => announcements.push(a), chunk: (c: AudioChunk) => void chunks.push(c), ended: (e: CaptureEnd) => void ends.push(e) } };
}

describe('CaptureDevice', () => {
  it('uses absolute deadlines: late timers never accumulate into drift', async () => {
    // One hour of 20 ms chunks with every sleep 3 ms late.
    const oneHour = new Int16Array(16000 * 3600);
    const { clock, requested } = lateClock(3);
    const out = collect();
    await new CaptureDevice('d1', memorySource(oneHour), out.output, { clock }).run();
    expect(out.chunks).toHaveLength(180_000);
    // Deadlines are start + (n + 1) * 20 ms exactly, whatever the lateness.
    expect(requested[0]).toBe(1020);
    expect(requested[179_999]).toBe(1000 + 180_000 * 20);
    // Capture timestamps are exact on the audio's own timeline.
    const first = out.chunks[0]!.captureTsUs;
    expect(out.chunks[179_999]!.captureTsUs - first).toBe(179_999 * 20_000);
    expect(out.chunks.every((c, i) => c.seq === i)).toBe(true);
    expect(out.announcements[0]!.firstCaptureTsUs).toBe(first);
    expect(out.ends).toEqual([{ reason: 'end-of-stream', lastSeq: 179_999, lastCaptureTsUs: first + 180_000 * 20_000 }]);
  });

  it('pads the last partial chunk with silence', async () => {
    const pcm = Int16Array.from({ length: 330 }, (_, i) => i + 1);
    const out = collect();
    await new CaptureDevice('d1', memorySource(pcm), out.output, { fast: true }).run();
    expect(out.chunks.map((c) => c.pcm.length)).toEqual([320, 320]);
    expect(Array.from(out.chunks[1]!.pcm.subarray(0, 10))).toEqual([321, 322, 323, 324, 325, 326, 327, 328, 329, 330]);
    expect(out.chunks[1]!.pcm.subarray(10).every((s) => s === 0)).toBe(true);
  });

  it('honours the chunk duration and refuses one out of range', () => {
    expect(() => new CaptureDevice('d', memorySource(new Int16Array(1)), collect().output, { chunkMs: 5 })).toThrow(/10 to 100/);
    expect(() => new CaptureDevice('d', memorySource(new Int16Array(1)), collect().output, { chunkMs: 101 })).toThrow(/10 to 100/);
  });

  it('never tears a sample when a byte stream splits it', async () => {
    const stream = new PassThrough();
    const samples = Int16Array.from({ length: 1000 }, (_, i) => (i * 37) - 18000);
    const bytes = Buffer.from(samples.buffer);
    const source = new RawStreamSource(stream, 'stdin');
    const got: number[] = [];
    const reading = (async () => {
      for await (const pcm of source.read()) got.push(...pcm);
    })();
    for (let i = 0; i < bytes.length; i += 7) stream.write(bytes.subarray(i, i + 7));
    stream.end();
    await reading;
    expect(got).toEqual(Array.from(samples));
  });

  it('Chunker cuts arbitrary pieces into fixed chunks in order', () => {
    const c = new Chunker(4);
    const out = [...c.push(Int16Array.from([1, 2, 3])), ...c.push(Int16Array.from([4, 5, 6, 7, 8, 9]))].map((x) => Array.from(x));
    expect(out).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
    expect(Array.from(c.flush()!)).toEqual([9, 0, 0, 0]);
    expect(c.flush()).toBeUndefined();
  });
});
