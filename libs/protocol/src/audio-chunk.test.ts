import { describe, expect, it } from 'vitest';
import { AudioChunkError, chunkDurationMs, decodeAudioChunk, encodeAudioChunk, type AudioChunk } from './audio-chunk.ts';
import { HEADERS, type HeaderMap } from './headers.ts';

const reader = (h: HeaderMap) => ({ get: (name: string) => h[name] ?? '' });

function chunk(overrides: Partial<AudioChunk> = {}): AudioChunk {
  const pcm = new Int16Array(320);
  for (let i = 0; i < pcm.length; i++) pcm[i] = ((i * 997) % 65536) - 32768;
  return { seq: 7, captureTsUs: 1_700_000_000_123_456, sampleRate: 16000, channels: 1, pcm, ...overrides };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AudioChunkError);
    return (err as AudioChunkError).code;
  }
  return undefined;
}

describe('audio chunk codec', () => {
  it('round-trips PCM and metadata exactly', () => {
    const original = chunk({ turnId: 'd1-3', sentAtUs: 1_700_000_000_200_000 });
    const { body, headers } = encodeAudioChunk(original);
    expect(body.byteLength).toBe(640);
    const decoded = decodeAudioChunk(body, reader(headers));
    expect(decoded).toEqual(original);
    expect(Array.from(decoded.pcm)).toEqual(Array.from(original.pcm));
    expect(chunkDurationMs(decoded)).toBe(20);
  });

  it('body is little-endian Int16', () => {
    const { body } = encodeAudioChunk(chunk({ pcm: Int16Array.from([1, -2, 0x1234]) }));
    expect(Array.from(body)).toEqual([0x01, 0x00, 0xfe, 0xff, 0x34, 0x12]);
  });

  it('decodes a body that sits at an odd offset of a larger buffer', () => {
    const { body, headers } = encodeAudioChunk(chunk());
    const big = new Uint8Array(body.byteLength + 1);
    big.set(body, 1);
    const view = big.subarray(1);
    expect(Array.from(decodeAudioChunk(view, reader(headers)).pcm)).toEqual(Array.from(chunk().pcm));
  });

  it('rejects an odd byte length', () => {
    const { headers } = encodeAudioChunk(chunk());
    expect(codeOf(() => decodeAudioChunk(new Uint8Array(641), reader(headers)))).toBe('odd-length');
  });

  it('rejects stereo bodies that are not whole frames', () => {
    const { headers } = encodeAudioChunk(chunk({ channels: 2, pcm: new Int16Array(4) }));
    expect(codeOf(() => decodeAudioChunk(new Uint8Array(6), reader(headers)))).toBe('misaligned');
  });

  it('rejects empty and huge chunks', () => {
    const { headers } = encodeAudioChunk(chunk());
    expect(codeOf(() => decodeAudioChunk(new Uint8Array(0), reader(headers)))).toBe('empty');
    expect(codeOf(() => decodeAudioChunk(new Uint8Array(16000 * 2 * 3), reader(headers)))).toBe('too-large');
  });

  it('rejects unknown sample rates on both sides', () => {
    const { body, headers } = encodeAudioChunk(chunk());
    expect(codeOf(() => decodeAudioChunk(body, reader({ ...headers, [HEADERS.sampleRate]: '12345' })))).toBe('unknown-rate');
    expect(codeOf(() => encodeAudioChunk(chunk({ sampleRate: 11025 as 16000 })))).toBe('unknown-rate');
  });

  it.each([HEADERS.seq, HEADERS.captureTsUs, HEADERS.sampleRate])('rejects a chunk without %s', (name) => {
    const { body, headers } = encodeAudioChunk(chunk());
    delete headers[name];
    expect(codeOf(() => decodeAudioChunk(body, reader(headers)))).toBe('missing-header');
  });

  it('rejects a chunk without any headers', () => {
    const { body } = encodeAudioChunk(chunk());
    expect(codeOf(() => decodeAudioChunk(body, undefined))).toBe('missing-header');
  });

  it.each(['-1', '1.5', 'NaN', 'abc', '1e3', ' 12', '99999999999999999999', '0x10'])('rejects garbage sequence %j', (bad) => {
    const { body, headers } = encodeAudioChunk(chunk());
    expect(codeOf(() => decodeAudioChunk(body, reader({ ...headers, [HEADERS.seq]: bad })))).toBe('bad-header');
  });

  it('rejects bad channels, encodings and absurd turn ids', () => {
    const { body, headers } = encodeAudioChunk(chunk());
    expect(codeOf(() => decodeAudioChunk(body, reader({ ...headers, [HEADERS.channels]: '3' })))).toBe('bad-header');
    expect(codeOf(() => decodeAudioChunk(body, reader({ ...headers, [HEADERS.encoding]: 'opus' })))).toBe('unknown-encoding');
    expect(codeOf(() => decodeAudioChunk(body, reader({ ...headers, [HEADERS.turnId]: 'x'.repeat(200) })))).toBe('bad-header');
  });

  it('refuses to encode invalid metadata', () => {
    expect(codeOf(() => encodeAudioChunk(chunk({ seq: -1 })))).toBe('bad-header');
    expect(codeOf(() => encodeAudioChunk(chunk({ captureTsUs: Number.NaN })))).toBe('bad-header');
    expect(codeOf(() => encodeAudioChunk(chunk({ pcm: new Int16Array(0) })))).toBe('empty');
  });
});
