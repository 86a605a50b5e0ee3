import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ASSISTANT_SAMPLE_RATE } from '@voicebus/protocol';

const BYTES_PER_SAMPLE = 2;

/** Where played audio goes. `playedAtUs` is the wall-clock time the first sample is heard. */
export interface Sink {
  readonly description: string;
  write(pcm: Int16Array, playedAtUs: number): void;
  /** Drop anything the sink itself still holds (a speaker's OS buffer). */
  discard(): void;
  close(): void;
}

export class SinkError extends Error {
  override name = 'SinkError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class NullSink implements Sink {
  readonly description = 'null';
  samples = 0;
  write(pcm: Int16Array): void {
    this.samples += pcm.length;
  }
  discard(): void {}
  close(): void {}
}

function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(ASSISTANT_SAMPLE_RATE, 24);
  h.writeUInt32LE(ASSISTANT_SAMPLE_RATE * BYTES_PER_SAMPLE, 28);
  h.writeUInt16LE(BYTES_PER_SAMPLE, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * One WAV per device with the assistant's audio on the conversation timeline: sample 0 is
 * the device's first captured sample, each write lands where it was heard, and the gaps are
 * silence. The header is written first and its sizes are fixed after every write (two
 * 4-byte positional writes), so a killed process leaves a valid file.
 *
 * The timeline origin is kept beside the file (`.json`), so a restarted playback service
 * continues the same file instead of starting a new one.
 */
export class WavTimelineSink implements Sink {
  readonly description: string;
  readonly path: string;
  private fd: number;
  private dataBytes: number;
  private originUs: number | undefined;

  constructor(path: string, originUs?: number) {
    this.path = path;
    this.description = `wav:${path}`;
    mkdirSync(dirname(path), { recursive: true });
    const meta = `${path}.json`;
    const resumable = existsSync(path) && existsSync(meta);
    if (resumable) {
      this.originUs = (JSON.parse(readFileSync(meta, 'utf8')) as { originUs: number }).originUs;
      this.fd = openSync(path, 'r+');
      const header = Buffer.alloc(44);
      readSync(this.fd, header, 0, 44, 0);
      this.dataBytes = Math.min(header.readUInt32LE(40), fstatSync(this.fd).size - 44);
      this.dataBytes -= this.dataBytes % 2;
    } else {
      this.fd = openSync(path, 'w+');
      writeSync(this.fd, wavHeader(0), 0, 44, 0);
      this.dataBytes = 0;
      this.originUs = undefined;
      if (originUs !== undefined) this.setOrigin(originUs);
    }
  }

  /** The conversation's time zero (the device's first captured sample), set once. */
  setOrigin(originUs: number): void {
    if (this.originUs !== undefined) return;
    this.originUs = originUs;
    writeFileSync(`${this.path}.json`, JSON.stringify({ originUs }));
  }

  get lengthSamples(): number {
    return this.dataBytes / BYTES_PER_SAMPLE;
  }

  write(pcm: Int16Array, playedAtUs: number): void {
    if (this.originUs === undefined) this.setOrigin(playedAtUs);
    const at = Math.max(0, Math.round(((playedAtUs - this.originUs!) / 1e6) * ASSISTANT_SAMPLE_RATE));
    // Silence up to where this audio is heard; never move backwards (overlap is appended).
    const start = Math.max(at, this.lengthSamples);
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    writeSync(this.fd, bytes, 0, bytes.length, 44 + start * BYTES_PER_SAMPLE);
    this.dataBytes = (start + pcm.length) * BYTES_PER_SAMPLE;
    this.fixSizes();
  }

  private fixSizes(): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(36 + this.dataBytes);
    writeSync(this.fd, b, 0, 4, 4);
    b.writeUInt32LE(this.dataBytes);
    writeSync(this.fd, b, 0, 4, 40);
  }

  discard(): void {}

  close(): void {
    this.fixSizes();
    closeSync(this.fd);
  }
}

/**
 * The default speaker through sox: raw s16le mono 24 kHz on its
 * stdin. A flush kills the player so queued audio in its pipe and the OS buffer stops now,
 * and the next write starts a fresh one.
 */
export class SoxSpeakerSink implements Sink {
  readonly description = 'speaker';
  private child: ChildProcess | undefined;
  private failure: Error | undefined;
  private readonly soxBin: string;

  constructor(soxBin = 'sox') {
    this.soxBin = soxBin;
  }

  write(pcm: Int16Array): void {
    if (this.failure) throw this.failure;
    this.child ??= this.spawn();
    this.child.stdin?.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  private spawn(): ChildProcess {
    const args = ['-q', '-t', 'raw', '-r', String(ASSISTANT_SAMPLE_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-', '-d'];
    const child = spawn(this.soxBin, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1000)));
    child.stdin?.on('error', () => {});
    child.on('error', (err) => {
      this.failure = new SinkError(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'sox is not installed: the speaker sink needs it (apt-get install sox libsox-fmt-all, or brew install sox)'
          : `could not start sox: ${err.message}`,
        { cause: err },
      );
    });
    child.on('exit', (code) => {
      if (child === this.child) this.child = undefined;
      if (code && code !== 0 && !child.killed) this.failure = new SinkError(`no output device: sox exited with code ${code}: ${stderr.trim()}`);
    });
    return child;
  }

  discard(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  close(): void {
    this.child?.stdin?.end();
  }
}

/** `speaker`, `null` or `wav:DIR` (one `DIR/<device>/assistant.wav` per device). */
export function sinkFactory(spec: string, options: { soxBin?: string } = {}): (deviceId: string) => Sink {
  if (spec === 'speaker') return () => new SoxSpeakerSink(options.soxBin);
  if (spec === 'null') return () => new NullSink();
  if (spec.startsWith('wav:')) {
    const dir = spec.slice(4) || '.';
    return (deviceId) => new WavTimelineSink(`${dir}/${deviceId}/assistant.wav`);
  }
  throw new SinkError(`unknown sink ${JSON.stringify(spec)}: expected speaker, null or wav:DIR`);
}
