import { ort } from './onnx-session.ts';
import type { VadEngine, VadEngineName, VadStream } from './vad-engine.ts';

/** v5/v6 models take 512 new samples at 16 kHz, after the previous frame's last 64 samples. */
export const SILERO_V5_FRAME = 512;
export const SILERO_V5_CONTEXT = 64;
const STATE_SIZE = 2 * 1 * 128;

/**
 * Silero VAD v5 and v6 run directly with onnxruntime-node. The model expects each input to
 * be the previous 64 samples (the context) followed by the 512 new ones; several wrappers feed
 * only the 512 and get degraded probabilities. The context starts as zeros, like the reference.
 */
export class SileroV5Stream implements VadStream {
  private readonly session: ort.InferenceSession;
  private state: Float32Array = new Float32Array(STATE_SIZE);
  private readonly context = new Float32Array(SILERO_V5_CONTEXT);
  private readonly sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  /** The last input handed to the model (tests check the context is really prepended). */
  lastInput: Float32Array | undefined;

  constructor(session: ort.InferenceSession) {
    this.session = session;
  }

  async process(frame: Float32Array): Promise<number> {
    if (frame.length !== SILERO_V5_FRAME) throw new RangeError(`silero v5 frames are ${SILERO_V5_FRAME} samples, got ${frame.length}`);
    const input = new Float32Array(SILERO_V5_CONTEXT + SILERO_V5_FRAME);
    input.set(this.context, 0);
    input.set(frame, SILERO_V5_CONTEXT);
    this.lastInput = input;
    this.context.set(frame.subarray(SILERO_V5_FRAME - SILERO_V5_CONTEXT));
    const out = await this.session.run({
      input: new ort.Tensor('float32', input, [1, input.length]),
      state: new ort.Tensor('float32', this.state, [2, 1, 128]),
      sr: this.sr,
    });
    this.state = out.stateN!.data as Float32Array;
    return (out.output!.data as Float32Array)[0]!;
  }

  reset(): void {
    this.state = new Float32Array(STATE_SIZE);
    this.context.fill(0);
  }
}

export class SileroV5Engine implements VadEngine {
  readonly name: VadEngineName;
  readonly sampleRate = 16000 as const;
  readonly frameSamples = SILERO_V5_FRAME;
  private readonly session: ort.InferenceSession;

  constructor(name: 'silero-v5' | 'silero-v6', session: ort.InferenceSession) {
    this.name = name;
    this.session = session;
  }

  createStream(): SileroV5Stream {
    return new SileroV5Stream(this.session);
  }
}
