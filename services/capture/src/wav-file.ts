import { readFile } from 'node:fs/promises';
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import wavefile from 'wavefile';
import { CaptureSourceError } from './errors.ts';
import { CAPTURE_SAMPLE_RATE } from '@voicebus/protocol';

/**
 * Float samples in [-1, 1] to Int16 with the same 32768 scale used to read them (so 16-bit
 * input survives exactly), clipped because a resampler may overshoot slightly.
 */
export function floatToInt16(samples: Float32Array | Float64Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768)));
  return out;
}

/** Sample value that means full scale, per encoding (8-bit WAV is unsigned, centred on 128). */
const FULL_SCALE: Record<string, { scale: number; offset: number }> = {
  '8': { scale: 128, offset: 128 },
  '16': { scale: 32768, offset: 0 },
  '24': { scale: 8388608, offset: 0 },
  '32': { scale: 2147483648, offset: 0 },
  '32f': { scale: 1, offset: 0 },
  '64': { scale: 1, offset: 0 },
};

/**
 * 16-bit PCM straight from the data chunk (little-endian, as RIFF and this machine are).
 * wavefile's per-sample unpacking took 2.4 s for a 30-minute file, and a capture process
 * attaching several devices held every other device's audio that long.
 */
function int16View(wav: InstanceType<typeof wavefile.WaveFile>): Int16Array {
  const bytes = (wav.data as { samples: Uint8Array }).samples;
  // Copied: an Int16Array needs an even offset, and the file's buffer can then go.
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.byteLength & ~1)));
}

/** Interleaved samples as one array per channel (raw values, scaled later with the rest). */
function deinterleave(samples: Int16Array, numChannels: number): Float32Array[] {
  const frames = Math.floor(samples.length / numChannels);
  return Array.from({ length: numChannels }, (_, c) => {
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) ch[i] = samples[i * numChannels + c]!;
    return ch;
  });
}

function rawChannels(wav: InstanceType<typeof wavefile.WaveFile>, numChannels: number): Float32Array[] {
  const raw = wav.getSamples(false, Float32Array) as unknown as Float32Array | Float32Array[];
  return numChannels > 1 ? (raw as Float32Array[]) : [raw as Float32Array];
}

/**
 * Reads a WAV of any common encoding (8/16/24/32-bit PCM, 32/64-bit float, any rate and
 * channel count) and returns 16 kHz mono s16: channels averaged, then resampled with
 * libsamplerate's sinc converter (the same family of filter sox uses).
 */
export async function readWavAs16kMono(path: string): Promise<Int16Array> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (cause) {
    throw new CaptureSourceError(`cannot read WAV file ${path}: ${(cause as Error).message}`, { cause });
  }
  let wav: InstanceType<typeof wavefile.WaveFile>;
  try {
    wav = new wavefile.WaveFile(buffer);
  } catch (cause) {
    throw new CaptureSourceError(`${path} is not a WAV file wavefile can read: ${(cause as Error).message}`, { cause });
  }
  // Copied out: toBitDepth() below rebuilds wav.fmt.
  const fmt = { ...(wav.fmt as { sampleRate: number; numChannels: number; audioFormat: number }) };
  const bitDepth = String(wav.bitDepth);
  if (!(bitDepth in FULL_SCALE)) {
    throw new CaptureSourceError(`${path}: unsupported WAV encoding (bit depth ${bitDepth}, format ${fmt.audioFormat})`);
  }
  if (!(fmt.numChannels >= 1 && fmt.numChannels <= 8) || !(fmt.sampleRate >= 4000 && fmt.sampleRate <= 384000)) {
    throw new CaptureSourceError(`${path}: unsupported layout (${fmt.numChannels} channels at ${fmt.sampleRate} Hz)`);
  }
  const pcm16 = bitDepth === '16' && fmt.audioFormat === 1 && wav.container === 'RIFF' ? int16View(wav) : undefined;
  if (pcm16 && fmt.numChannels === 1 && fmt.sampleRate === CAPTURE_SAMPLE_RATE) return pcm16;
  // wavefile's own toBitDepth() is far too slow for long files (seconds per minute of audio);
  // reading the raw sample values and scaling them by the encoding's full scale is exact.
  const channels = pcm16 ? deinterleave(pcm16, fmt.numChannels) : rawChannels(wav, fmt.numChannels);
  const { scale, offset } = FULL_SCALE[bitDepth]!;
  const frames = channels[0]!.length;
  const mono = new Float32Array(frames);
  const gain = 1 / (scale * channels.length);
  for (const ch of channels) for (let i = 0; i < frames; i++) mono[i]! += (ch[i]! - offset) * gain;
  if (fmt.sampleRate === CAPTURE_SAMPLE_RATE) return floatToInt16(mono);
  // CommonJS package: its functions live on the default export.
  const src = await libsamplerate.create(1, fmt.sampleRate, CAPTURE_SAMPLE_RATE, { converterType: libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY });
  try {
    return floatToInt16(src.simple(mono));
  } finally {
    src.destroy();
  }
}
