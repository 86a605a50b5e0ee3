/// <reference lib="dom" />
/** What the page tells the playout worklet. */
export type PlayoutCommand =
  | { type: 'audio'; turnId: string; pcm: Float32Array }
  | { type: 'complete'; turnId: string }
  | { type: 'flush'; at: 'now' | 'pause'; turnId?: string | undefined }
  /** The turn goes on (its next pause or end): audio for it plays again after a flush. */
  | { type: 'reopen'; turnId: string }
  | { type: 'pause' }
  | { type: 'resume' };

/**
 * What the playout worklet reports. `frame` is the context frame of the sample concerned (the
 * page turns it into the wall-clock time the sample is presented to the speaker). A turn's
 * `playedSamples` / `audibleSamples` count what it played since its audio began or since the
 * last flush (a flush forgets the turn; audio that comes after it starts the turn again).
 */
export type PlayoutReport =
  | { type: 'started'; turnId: string; frame: number }
  | { type: 'finished'; turnId: string; frame: number; playedSamples: number; audibleSamples: number }
  | { type: 'flushed'; turnId: string | undefined; frame: number; droppedSamples: number; playedSamples: number; audibleSamples: number }
  | { type: 'underrun'; turnId: string; silenceSamples: number }
  | { type: 'paused'; turnId: string | undefined; frame: number }
  | { type: 'resumed'; turnId: string | undefined; frame: number }
  | { type: 'progress'; frame: number; playedSamples: number; audibleSamples: number };

export interface PlayoutWorkletOptions {
  /** Audio buffered before a turn starts playing. */
  targetMs: number;
}
