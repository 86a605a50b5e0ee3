import { sharedSession } from './onnx-session.ts';
import { SileroBatcher, SILERO_STATE_FLOATS, type SileroBatchOptions } from './silero-batcher.ts';
import { SILERO_V5_CONTEXT, SILERO_V5_FRAME } from './silero-v5-engine.ts';
import type { VadEngine, VadStream } from './vad-engine.ts';

/**
 * One device's Silero v5/v6 stream whose frames go through the process's batcher: the same
 * context (the previous frame's last 64 samples) and state as SileroV5Stream, computed in a
 * shared call with the other devices' frames of the moment.
 */
export class BatchedSileroStream implements VadStream {
  readonly state = new Float32Array(SILERO_STATE_FLOATS);
  private readonly context = new Float32Array(SILERO_V5_CONTEXT);
  private readonly batcher: SileroBatcher;

  constructor(batcher: SileroBatcher) {
    this.batcher = batcher;
  }

  process(frame: Float32Array): Promise<number> {
    if (frame.length !== SILERO_V5_FRAME) throw new RangeError(`silero v5 frames are ${SILERO_V5_FRAME} samples, got ${frame.length}`);
    const input = new Float32Array(SILERO_V5_CONTEXT + SILERO_V5_FRAME);
    input.set(this.context, 0);
    input.set(frame, SILERO_V5_CONTEXT);
    this.context.set(frame.subarray(SILERO_V5_FRAME - SILERO_V5_CONTEXT));
    return this.batcher.submit(this, input);
  }

  reset(): void {
    this.state.fill(0);
    this.context.fill(0);
  }
}

/** Silero v5/v6 for many devices in one process: one model, one batcher, a stream per device. */
export class BatchedSileroEngine implements VadEngine {
  readonly name: 'silero-v5' | 'silero-v6';
  readonly sampleRate = 16000 as const;
  readonly frameSamples = SILERO_V5_FRAME;
  readonly batcher: SileroBatcher;

  constructor(name: 'silero-v5' | 'silero-v6', batcher: SileroBatcher) {
    this.name = name;
    this.batcher = batcher;
  }

  createStream(): BatchedSileroStream {
    return new BatchedSileroStream(this.batcher);
  }
}

/** A batched engine on the process's shared model (its own batcher: engines do not share calls). */
export async function createBatchedSileroEngine(name: 'silero-v5' | 'silero-v6', options: Partial<SileroBatchOptions> = {}): Promise<BatchedSileroEngine> {
  return new BatchedSileroEngine(name, new SileroBatcher(await sharedSession(name), options));
}

export function isBatchableEngine(name: string): name is 'silero-v5' | 'silero-v6' {
  return name === 'silero-v5' || name === 'silero-v6';
}
