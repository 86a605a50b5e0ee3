/// <reference lib="dom" />
/** What the page tells the playout worklet. */
export type PlayoutCommand =
  | { type: 'audio'; turnId: string; pcm: Float32Array }
  | { type: 'complete'; turnId: string }
  | { type: 'flush'; at: 'now' | 'pause' }
  | { type: 'pause' }
  | { type: 'resume' };

/**
 * What the playout worklet reports. `frame` is the context frame of the sample concerned (the
 * page turns it into the wall-clock time the sample is presented to the speaker).
 */
export type PlayoutReport =
  | { type: 'started'; turnId: string; frame: number }
  | { type: 'finished'; turnId: string; frame: number; playedSamples: number }
  | { type: 'flushed'; turnId: string | undefined; frame: number; droppedSamples: number; playedSamples: number }
  | { type: 'underrun'; turnId: string; silenceSamples: number }
  | { type: 'paused'; turnId: string | undefined; frame: number }
  | { type: 'resumed'; turnId: string | undefined; frame: number }
  | { type: 'progress'; frame: number; playedSamples: number; audibleSamples: number };

export interface PlayoutWorkletOptions {
  /** Audio buffered before a turn starts playing. */
  targetMs: number;
}
