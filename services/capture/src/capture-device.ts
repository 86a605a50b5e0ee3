import { CAPTURE_SAMPLE_RATE, DEFAULT_CHUNK_MS, type AudioChunk } from '@voicebus/protocol';
import { assertChunkMs, Chunker } from './chunker.ts';
import { systemPacingClock, type PacingClock } from './clock.ts';
import type { AudioSource } from './sources.ts';

export interface CaptureDeviceOptions {
  chunkMs: number;
  /** Send file audio as fast as the bus takes it instead of in real time. */
  fast: boolean;
  clock: PacingClock;
}

export const CAPTURE_DEVICE_DEFAULTS: CaptureDeviceOptions = { chunkMs: DEFAULT_CHUNK_MS, fast: false, clock: systemPacingClock };

export interface CaptureAnnouncement {
  deviceId: string;
  source: string;
  sampleRate: number;
  chunkMs: number;
  startedAt: number;
  firstCaptureTsUs: number;
}

export interface CaptureEnd {
  reason: 'end-of-stream' | 'stopped' | 'error';
  lastSeq: number;
  lastCaptureTsUs: number;
  message?: string;
}

/** Where a device's output goes: the bus in the service, a list in tests. */
export interface CaptureOutput {
  announce(info: CaptureAnnouncement): void;
  chunk(chunk: AudioChunk): void | Promise<void>;
  ended(info: CaptureEnd): void | Promise<void>;
}

/**
 * One capture device: reads its source, cuts fixed-duration chunks and hands them out with a
 * sequence number and the capture time of each chunk's first sample.
 *
 * Timing: chunk n of a file is due at start + (n + 1) × chunk duration on the monotonic clock
 * (when a microphone would have captured its last sample), and its capture timestamp is
 * startEpoch + n × chunk duration (its first sample). Deadlines are absolute, so timer
 * lateness is caught up on the next chunk instead of accumulating: an hour of audio takes an
 * hour. Live sources (microphone, stdin) are paced by the hardware; their timestamps are
 * anchored at the first chunk and advance by exactly one chunk per chunk, re-anchored only
 * if the device clock and the wall clock drift apart by more than 200 ms.
 */
export class CaptureDevice {
  readonly deviceId: string;
  readonly options: CaptureDeviceOptions;
  private readonly source: AudioSource;
  private readonly output: CaptureOutput;
  private stopped = false;

  constructor(deviceId: string, source: AudioSource, output: CaptureOutput, options: Partial<CaptureDeviceOptions> = {}) {
    this.options = { ...CAPTURE_DEVICE_DEFAULTS, ...options };
    assertChunkMs(this.options.chunkMs);
    this.deviceId = deviceId;
    this.source = source;
    this.output = output;
  }

  stop(): void {
    this.stopped = true;
    this.source.stop();
  }

  async run(): Promise<CaptureEnd> {
    const { chunkMs, clock } = this.options;
    const chunkUs = chunkMs * 1000;
    const chunker = new Chunker((CAPTURE_SAMPLE_RATE * chunkMs) / 1000);
    const paced = !this.source.realtime && !this.options.fast;
    let seq = 0;
    let startMs = 0;
    let startUs = 0;
    let announced = false;
    const emit = async (pcm: Int16Array) => {
      if (!announced) {
        startMs = clock.monotonicMs();
        // A live source's first chunk was being captured during the chunk that just ended.
        startUs = clock.epochUs() - (this.source.realtime ? chunkUs : 0);
        this.output.announce({
          deviceId: this.deviceId,
          source: this.source.description,
          sampleRate: CAPTURE_SAMPLE_RATE,
          chunkMs,
          startedAt: Date.now(),
          firstCaptureTsUs: startUs,
        });
        announced = true;
      }
      // A microphone delivers a chunk once its last sample is captured; a file does the same.
      if (paced) await clock.sleepUntil(startMs + (seq + 1) * chunkMs);
      else if (this.source.realtime) {
        const expectedUs = startUs + seq * chunkUs;
        const actualUs = clock.epochUs() - chunkUs;
        if (Math.abs(actualUs - expectedUs) > 200_000) startUs = actualUs - seq * chunkUs;
      }
      await this.output.chunk({
        seq,
        captureTsUs: startUs + seq * chunkUs,
        sampleRate: CAPTURE_SAMPLE_RATE,
        channels: 1,
        pcm,
      });
      seq++;
    };
    let end: CaptureEnd;
    try {
      for await (const piece of this.source.read()) {
        for (const pcm of chunker.push(piece)) {
          if (this.stopped) break;
          await emit(pcm);
        }
        if (this.stopped) break;
      }
      const last = chunker.flush();
      if (last && !this.stopped) await emit(last);
      end = { reason: this.stopped ? 'stopped' : 'end-of-stream', lastSeq: seq - 1, lastCaptureTsUs: startUs + Math.max(0, seq) * chunkUs };
    } catch (err) {
      end = { reason: 'error', lastSeq: seq - 1, lastCaptureTsUs: startUs + seq * chunkUs, message: (err as Error).message };
      await this.output.ended(end);
      throw err;
    }
    await this.output.ended(end);
    return end;
  }
}
