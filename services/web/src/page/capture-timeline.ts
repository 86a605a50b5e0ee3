/// <reference lib="dom" />
/**
 * Sequence numbers and capture timestamps of a live microphone, by the capture service's rule
 * for live sources (services/capture, CaptureDevice): anchored on the first chunk, advancing by
 * exactly one chunk per chunk, and re-anchored only when the chunks' own capture times and the
 * count drift apart by more than 200 ms (a microphone that was restarted, input the browser
 * lost).
 *
 * The time each chunk brings is its first sample's capture time on the audio clock (the
 * microphone's AudioContext, see audio-clock.ts), the clock the speaker's playout times come
 * from, so barge-in delay and voice-to-voice are differences of one clock. Anchoring on when a
 * chunk reached the main thread (minus one chunk) put the capture timeline 50-100 ms off the
 * playout times on a loaded machine; on the audio clock a throttled tab only delivers the
 * chunks late, with their true times, and nothing re-anchors.
 */
export interface TimelineOptions {
  chunkMs: number;
  maxDriftUs: number;
}

export const TIMELINE_DEFAULTS: TimelineOptions = { chunkMs: 20, maxDriftUs: 200_000 };

export class CaptureTimeline {
  readonly options: TimelineOptions;
  private seq = 0;
  private startUs: number | undefined;
  reanchored = 0;

  constructor(options: Partial<TimelineOptions> = {}) {
    this.options = { ...TIMELINE_DEFAULTS, ...options };
  }

  /** The conversation's time zero: the first chunk's first sample (undefined before it). */
  get firstCaptureTsUs(): number | undefined {
    return this.startUs;
  }

  /**
   * The next chunk, whose first sample was captured at `capturedAtUs` (epoch µs, audio clock):
   * its sequence number and the capture timestamp it is published with.
   */
  next(capturedAtUs: number): { seq: number; captureTsUs: number } {
    const chunkUs = this.options.chunkMs * 1000;
    const actualUs = Math.round(capturedAtUs);
    if (this.startUs === undefined) this.startUs = actualUs;
    else if (Math.abs(actualUs - (this.startUs + this.seq * chunkUs)) > this.options.maxDriftUs) {
      this.startUs = actualUs - this.seq * chunkUs;
      this.reanchored++;
    }
    const seq = this.seq++;
    return { seq, captureTsUs: this.startUs + seq * chunkUs };
  }
}
