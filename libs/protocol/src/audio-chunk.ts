import { HEADERS, PCM_S16LE, type HeaderMap, type HeaderReader } from './headers.ts';

/** Sample rates the stack accepts: capture runs at 16 kHz, Gemini answers at 24 kHz. */
export const SUPPORTED_SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;
export type SampleRate = (typeof SUPPORTED_SAMPLE_RATES)[number];

export const CAPTURE_SAMPLE_RATE = 16000 as const;
export const ASSISTANT_SAMPLE_RATE = 24000 as const;
/** The chunk length capture publishes and playback plays out by default. */
export const DEFAULT_CHUNK_MS = 20;

/** Longest chunk accepted: capture sends 10-100 ms; model audio may come in larger pieces. */
export const MAX_CHUNK_MS = 2000;

export interface AudioChunk {
  seq: number;
  /** Capture time of the first sample, epoch microseconds. */
  captureTsUs: number;
  sampleRate: SampleRate;
  channels: 1 | 2;
  /** Interleaved signed 16-bit samples. */
  pcm: Int16Array;
  turnId?: string | undefined;
  /** Epoch µs when the chunk was put on the bus (set by the publisher). */
  sentAtUs?: number | undefined;
}

export const AUDIO_CHUNK_ERRORS = {
  empty: 'empty',
  oddLength: 'odd-length',
  misaligned: 'misaligned',
  tooLarge: 'too-large',
  missingHeader: 'missing-header',
  badHeader: 'bad-header',
  unknownRate: 'unknown-rate',
  unknownEncoding: 'unknown-encoding',
} as const;
export type AudioChunkErrorCode = (typeof AUDIO_CHUNK_ERRORS)[keyof typeof AUDIO_CHUNK_ERRORS];

export class AudioChunkError extends Error {
  override name = 'AudioChunkError' as const;
  readonly code: AudioChunkErrorCode;
  constructor(code: AudioChunkErrorCode, message: string, options?: { cause?: unknown }) {
    super(`rejected audio chunk (${code}): ${message}`, options);
    this.code = code;
  }
}

export function chunkDurationMs(chunk: Pick<AudioChunk, 'pcm' | 'sampleRate' | 'channels'>): number {
  return (chunk.pcm.length / chunk.channels / chunk.sampleRate) * 1000;
}

function isSupportedRate(rate: number): rate is SampleRate {
  return (SUPPORTED_SAMPLE_RATES as readonly number[]).includes(rate);
}

function checkBody(byteLength: number, sampleRate: number, channels: number): void {
  if (byteLength === 0) throw new AudioChunkError('empty', 'no PCM bytes');
  if (byteLength % (2 * channels) !== 0) {
    throw new AudioChunkError(
      byteLength % 2 ? 'odd-length' : 'misaligned',
      `${byteLength} bytes is not a whole number of ${channels}-channel 16-bit frames`,
    );
  }
  const ms = (byteLength / 2 / channels / sampleRate) * 1000;
  if (ms > MAX_CHUNK_MS) throw new AudioChunkError('too-large', `${ms.toFixed(0)} ms exceeds ${MAX_CHUNK_MS} ms`);
}

/** Encodes a chunk as a raw little-endian PCM body plus headers. Validates like decode does. */
export function encodeAudioChunk(chunk: AudioChunk): { body: Uint8Array; headers: HeaderMap } {
  if (!isSupportedRate(chunk.sampleRate)) throw new AudioChunkError('unknown-rate', `sample rate ${chunk.sampleRate}`);
  if (chunk.channels !== 1 && chunk.channels !== 2) throw new AudioChunkError('bad-header', `channels ${chunk.channels}`);
  if (!Number.isSafeInteger(chunk.seq) || chunk.seq < 0) throw new AudioChunkError('bad-header', `sequence ${chunk.seq}`);
  if (!Number.isSafeInteger(chunk.captureTsUs) || chunk.captureTsUs < 0) {
    throw new AudioChunkError('bad-header', `capture timestamp ${chunk.captureTsUs}`);
  }
  const body = new Uint8Array(chunk.pcm.buffer, chunk.pcm.byteOffset, chunk.pcm.byteLength);
  checkBody(body.byteLength, chunk.sampleRate, chunk.channels);
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  const headers: HeaderMap = {
    [HEADERS.seq]: String(chunk.seq),
    [HEADERS.captureTsUs]: String(chunk.captureTsUs),
    [HEADERS.sampleRate]: String(chunk.sampleRate),
    [HEADERS.channels]: String(chunk.channels),
    [HEADERS.encoding]: PCM_S16LE,
  };
  if (chunk.turnId) headers[HEADERS.turnId] = chunk.turnId;
  if (chunk.sentAtUs !== undefined) headers[HEADERS.sentAtUs] = String(chunk.sentAtUs);
  return { body, headers };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const DIGITS = /^\d{1,16}$/;

function readInt(headers: HeaderReader | undefined, name: string, required: boolean): number | undefined {
  const raw = headers?.get(name) ?? '';
  if (raw === '') {
    if (required) throw new AudioChunkError('missing-header', `${name} is missing`);
    return undefined;
  }
  if (!DIGITS.test(raw)) throw new AudioChunkError('bad-header', `${name}=${JSON.stringify(raw.slice(0, 40))} is not a non-negative integer`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new AudioChunkError('bad-header', `${name}=${raw} is out of range`);
  return value;
}

/**
 * Decodes and validates a chunk. The PCM is copied into its own aligned buffer: NATS hands out
 * views into a shared read buffer at arbitrary offsets, which Int16Array cannot view directly.
 */
export function decodeAudioChunk(body: Uint8Array, headers: HeaderReader | undefined): AudioChunk {
  const encoding = headers?.get(HEADERS.encoding) || PCM_S16LE;
  if (encoding !== PCM_S16LE) throw new AudioChunkError('unknown-encoding', `encoding ${JSON.stringify(encoding.slice(0, 40))}`);
  const seq = readInt(headers, HEADERS.seq, true)!;
  const captureTsUs = readInt(headers, HEADERS.captureTsUs, true)!;
  const sampleRate = readInt(headers, HEADERS.sampleRate, true)!;
  if (!isSupportedRate(sampleRate)) throw new AudioChunkError('unknown-rate', `sample rate ${sampleRate}`);
  const channels = readInt(headers, HEADERS.channels, false) ?? 1;
  if (channels !== 1 && channels !== 2) throw new AudioChunkError('bad-header', `channels ${channels}`);
  checkBody(body.byteLength, sampleRate, channels);
  const pcm = new Int16Array(body.byteLength / 2);
  new Uint8Array(pcm.buffer).set(body);
  const turnId = headers?.get(HEADERS.turnId) || undefined;
  if (turnId !== undefined && turnId.length > 128) throw new AudioChunkError('bad-header', 'turn id longer than 128 characters');
  const sentAtUs = readInt(headers, HEADERS.sentAtUs, false);
  return { seq, captureTsUs, sampleRate, channels, pcm, turnId, sentAtUs };
}
