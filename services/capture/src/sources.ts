import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { CaptureSourceError } from './errors.ts';
import { CAPTURE_SAMPLE_RATE } from '@voicebus/protocol';
import { readWavAs16kMono } from './wav-file.ts';

/**
 * A capture source: 16 kHz mono s16 PCM in pieces of any size, ending when the source ends.
 * `realtime` sources (microphone, stdin) are paced by the world; file sources by the pacer.
 */
export interface AudioSource {
  readonly description: string;
  readonly realtime: boolean;
  read(): AsyncIterable<Int16Array>;
  stop(): void;
}

/**
 * Files being played, decoded once for every source of this process that plays them: a shared
 * capture of many devices playing one file held a copy per device (20 devices of a 30-minute
 * file: 1.3 GB). The samples are only read (the chunker copies what it sends); a file's entry
 * goes when its last reader is done with it.
 */
const playing = new Map<string, { pcm: Promise<Int16Array>; readers: number }>();

function openShared(path: string): { pcm: Promise<Int16Array>; release: () => void } {
  let entry = playing.get(path);
  if (!entry) {
    entry = { pcm: readWavAs16kMono(path), readers: 0 };
    playing.set(path, entry);
    entry.pcm.catch(() => {}); // its reader gets the error; nothing is left unhandled
  }
  entry.readers++;
  const e = entry;
  let released = false;
  return {
    pcm: e.pcm,
    release: () => {
      if (released) return;
      released = true;
      if (--e.readers === 0 && playing.get(path) === e) playing.delete(path);
    },
  };
}

/** How many files are decoded and held for their readers now (tests). */
export function filesHeld(): number {
  return playing.size;
}

export class WavFileSource implements AudioSource {
  readonly description: string;
  readonly realtime = false;
  private readonly path: string;
  private readonly loop: boolean;
  private stopped = false;

  constructor(path: string, options: { loop?: boolean } = {}) {
    this.path = path;
    this.loop = options.loop ?? false;
    this.description = `file:${path}`;
  }

  async *read(): AsyncIterable<Int16Array> {
    const shared = openShared(this.path);
    try {
      const pcm = await shared.pcm;
      if (pcm.length === 0) throw new CaptureSourceError(`${this.path} contains no audio`);
      do {
        yield pcm;
      } while (this.loop && !this.stopped);
    } finally {
      shared.release();
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

/**
 * Raw s16le from a byte stream. Reads may split a sample in two; the odd byte is carried
 * into the next read so no sample is ever torn.
 */
export class RawStreamSource implements AudioSource {
  readonly description: string;
  readonly realtime = true;
  private readonly stream: Readable;

  constructor(stream: Readable, description: string) {
    this.stream = stream;
    this.description = description;
  }

  async *read(): AsyncIterable<Int16Array> {
    let carry: Buffer | undefined;
    for await (const data of this.stream) {
      let bytes = data as Buffer;
      if (carry) {
        bytes = Buffer.concat([carry, bytes]);
        carry = undefined;
      }
      if (bytes.length % 2) {
        carry = bytes.subarray(bytes.length - 1);
        bytes = bytes.subarray(0, bytes.length - 1);
      }
      if (bytes.length === 0) continue;
      const pcm = new Int16Array(bytes.length / 2);
      Buffer.from(pcm.buffer).set(bytes);
      yield pcm;
    }
  }

  stop(): void {
    this.stream.destroy();
  }
}

export function stdinSource(): AudioSource {
  return new RawStreamSource(process.stdin, 'stdin');
}

/** The default microphone through sox: raw s16le mono 16 kHz. */
export class SoxMicSource implements AudioSource {
  readonly description = 'mic';
  readonly realtime = true;
  private child: ReturnType<typeof spawn> | undefined;
  private readonly soxBin: string;

  constructor(soxBin = 'sox') {
    this.soxBin = soxBin;
  }

  async *read(): AsyncIterable<Int16Array> {
    const args = ['-q', '-d', '-t', 'raw', '-r', String(CAPTURE_SAMPLE_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'];
    const child = spawn(this.soxBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const failed = new Promise<never>((_, reject) => {
      child.on('error', (err) =>
        reject(new CaptureSourceError(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'sox is not installed: the microphone source needs it (apt-get install sox libsox-fmt-all, or brew install sox)'
            : `could not start sox: ${err.message}`,
          { cause: err },
        )),
      );
    });
    failed.catch(() => {});
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let got = 0;
    const reader = new RawStreamSource(child.stdout!, 'mic').read()[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([reader.next(), failed]);
      if (next.done) break;
      got += next.value.length;
      yield next.value;
    }
    const code = await exited;
    if (got === 0 && code !== 0) {
      throw new CaptureSourceError(`no input device: sox exited with code ${code}${stderr ? `: ${stderr.trim()}` : ''}`);
    }
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}

/** Parses a source spec: `mic`, `stdin`, `file:PATH`. */
export function sourceFromSpec(spec: string, options: { loop?: boolean; soxBin?: string } = {}): AudioSource {
  if (spec === 'mic') return new SoxMicSource(options.soxBin);
  if (spec === 'stdin' || spec === '-') return stdinSource();
  if (spec.startsWith('file:')) return new WavFileSource(spec.slice(5), options);
  throw new CaptureSourceError(`unknown source ${JSON.stringify(spec)}: expected mic, stdin or file:PATH`);
}
