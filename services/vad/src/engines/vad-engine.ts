/** Speech probability for fixed-size frames of 16 kHz mono float audio, one stream per device. */
export interface VadStream {
  /** `frame` has exactly `engine.frameSamples` samples in [-1, 1]. Returns P(speech). */
  process(frame: Float32Array): Promise<number>;
  /** Forget the recurrent state and context (a new utterance stream, a capture restart). */
  reset(): void;
}

export interface VadEngine {
  readonly name: VadEngineName;
  readonly sampleRate: 16000;
  readonly frameSamples: number;
  /** Per-device state; the model itself is shared by every stream of the process. */
  createStream(): VadStream;
}

export const VAD_ENGINES = ['silero-v5', 'silero-v6', 'silero-legacy', 'energy'] as const;
export type VadEngineName = (typeof VAD_ENGINES)[number];

export function isVadEngineName(value: unknown): value is VadEngineName {
  return typeof value === 'string' && (VAD_ENGINES as readonly string[]).includes(value);
}

export function frameMs(engine: VadEngine): number {
  return (engine.frameSamples / engine.sampleRate) * 1000;
}
