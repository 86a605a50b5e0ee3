/// <reference lib="dom" />
/**
 * Sequence numbers and capture timestamps of a live microphone, by the capture service's rule
 * for live sources (services/capture, CaptureDevice): anchored when the first chunk arrives
 * (its first sample was captured one chunk earlier), advancing by exactly one chunk per chunk,
 * and re-anchored only when the device clock and the wall clock drift apart by more than 200 ms
 * (a tab that was throttled, a microphone that was restarted).
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

  /** A chunk arrived at `nowUs` (epoch µs): its sequence number and its first sample's capture time. */
  next(nowUs: number): { seq: number; captureTsUs: number } {
    const chunkUs = this.options.chunkMs * 1000;
    const actualUs = Math.round(nowUs) - chunkUs;
    if (this.startUs === undefined) this.startUs = actualUs;
    else if (Math.abs(actualUs - (this.startUs + this.seq * chunkUs)) > this.options.maxDriftUs) {
      this.startUs = actualUs - this.seq * chunkUs;
      this.reanchored++;
    }
    const seq = this.seq++;
    return { seq, captureTsUs: this.startUs + seq * chunkUs };
  }
}
