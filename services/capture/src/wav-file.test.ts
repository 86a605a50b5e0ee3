import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';
import { describe, expect, it } from 'vitest';
import { CaptureSourceError } from './errors.ts';
import { filesHeld, WavFileSource } from './sources.ts';
import { readWavAs16kMono } from './wav-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'capture-wav-'));
const speech = join(dir, 'speech.wav');
execFileSync('espeak-ng', ['-w', speech, 'The quick brown fox jumps over the lazy dog, twice.']);

function soxTo16k(input: string): Int16Array {
  const out = join(dir, `ref-${Math.random().toString(36).slice(2)}.wav`);
  execFileSync('sox', [input, '-r', '16000', '-c', '1', '-b', '16', out]);
  return new wavefile.WaveFile(readFileSync(out)).getSamples(false, Int16Array) as unknown as Int16Array;
}

/** Best normalised cross-correlation over small lags, and the SNR of the aligned residual. */
function compare(a: Int16Array, b: Int16Array) {
  let best = { corr: -1, lag: 0 };
  const n = Math.min(a.length, b.length) - 200;
  for (let lag = -32; lag <= 32; lag++) {
    let num = 0, ea = 0, eb = 0;
    for (let i = 100; i < n; i++) {
      const x = a[i]!, y = b[i + lag]!;
      num += x * y;
      ea += x * x;
      eb += y * y;
    }
    const corr = num / Math.sqrt(ea * eb);
    if (corr > best.corr) best = { corr, lag };
  }
  let signal = 0, noise = 0;
  for (let i = 100; i < n; i++) {
    const y = b[i + best.lag]!;
    signal += y * y;
    noise += (a[i]! - y) ** 2;
  }
  return { ...best, snrDb: 10 * Math.log10(signal / noise), lengthDiff: Math.abs(a.length - b.length) };
}

describe('WAV input', () => {
  it.each([
    ['44.1 kHz stereo 16-bit', ['-r', '44100', '-c', '2', '-b', '16']],
    ['48 kHz mono 24-bit', ['-r', '48000', '-c', '1', '-b', '24']],
    ['8 kHz mono 8-bit', ['-r', '8000', '-c', '1', '-b', '8', '-e', 'unsigned-integer']],
    ['22.05 kHz stereo float', ['-r', '22050', '-c', '2', '-e', 'floating-point', '-b', '32']],
  ])('%s becomes 16 kHz mono matching sox closely', async (_name, soxArgs) => {
    const file = join(dir, `in-${soxArgs.join('')}.wav`);
    execFileSync('sox', [speech, ...soxArgs, file]);
    const ours = await readWavAs16kMono(file);
    const ref = soxTo16k(file);
    const c = compare(ours, ref);
    expect(c.lengthDiff).toBeLessThanOrEqual(2);
    expect(Math.abs(c.lag)).toBeLessThanOrEqual(2);
    expect(c.corr).toBeGreaterThan(0.995);
    // 8 kHz 8-bit input is itself noisy; everything else must be near-identical.
    expect(c.snrDb).toBeGreaterThan(soxArgs.includes('8000') ? 15 : 25);
  });

  it('passes 16 kHz mono 16-bit through bit-exact', async () => {
    const file = join(dir, 'exact.wav');
    execFileSync('sox', [speech, '-r', '16000', '-c', '1', '-b', '16', file]);
    const ours = await readWavAs16kMono(file);
    const raw = new wavefile.WaveFile(readFileSync(file)).getSamples(false, Int16Array) as unknown as Int16Array;
    expect(Buffer.from(ours.buffer).equals(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength))).toBe(true);
  });

  it('rejects a missing file and a non-WAV file with a clear error', async () => {
    await expect(readWavAs16kMono(join(dir, 'missing.wav'))).rejects.toThrow(CaptureSourceError);
    const junk = join(dir, 'junk.wav');
    writeFileSync(junk, 'this is not a wav file at all');
    await expect(readWavAs16kMono(junk)).rejects.toThrow(/not a WAV file/);
  });
});

describe('WAV file sources of one process', () => {
  it('devices playing the same file share one decoded copy, held while one of them plays it', async () => {
    const a = new WavFileSource(speech).read()[Symbol.asyncIterator]();
    const b = new WavFileSource(speech).read()[Symbol.asyncIterator]();
    const first = await a.next();
    const second = await b.next();
    expect(first.value).toBe(second.value); // the same samples, not a copy per device
    expect(filesHeld()).toBe(1);
    expect((await a.next()).done).toBe(true);
    expect(filesHeld()).toBe(1); // b still plays it
    expect((await b.next()).done).toBe(true);
    expect(filesHeld()).toBe(0);
    // Played again later: decoded again (the file may have changed meanwhile).
    const c = new WavFileSource(speech).read()[Symbol.asyncIterator]();
    expect((await c.next()).value).not.toBe(first.value);
    await c.return?.(undefined);
    expect(filesHeld()).toBe(0);
  });
});
