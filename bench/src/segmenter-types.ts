/** A stretch of speech on the audio's own timeline (ms from its first sample). */
export interface Segment {
  startMs: number;
  endMs: number;
}

export interface SegmenterRun {
  segments: Segment[];
  /** Model frames run (inference calls per stream, or rows of batched calls). */
  frames: number;
}

/**
 * Something that turns 16 kHz mono audio into speech segments: voicebus's engines (detector +
 * turn detector, as the VAD actor runs them) and the peers, each with its own defaults.
 */
export interface Segmenter {
  name: string;
  /** What it runs and how its segments end (for the table). */
  describe: string;
  frameMs: number;
  run(pcm: Int16Array): Promise<SegmenterRun>;
  /** Several streams at once in this process (only a batched engine gains from it). */
  readonly concurrent?: boolean;
}

