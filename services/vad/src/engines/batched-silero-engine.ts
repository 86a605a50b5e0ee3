import { SileroBatcher, SILERO_BATCH_DEFAULTS, SILERO_STATE_FLOATS, type SileroBatchOptions } from './silero-batcher.ts';
import { MainThreadInference, type SileroInference } from './silero-inference.ts';
import { SILERO_V5_CONTEXT, SILERO_V5_FRAME } from './silero-v5-engine.ts';
import type { VadEngine, VadStream } from './vad-engine.ts';
import { WorkerInference } from './worker-inference.ts';

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

export const INFERENCE_THREADS = ['worker', 'main'] as const;
export type InferenceThread = (typeof INFERENCE_THREADS)[number];

export interface BatchedEngineOptions extends SileroBatchOptions {
  /**
   * Where the model runs: `worker` (default) a worker thread of its own, so the event loop that
   * receives the chunks is never blocked by a call; `main` this thread (the process's shared
   * session), blocked 1-5 ms per call of 64 frames.
   */
  thread: InferenceThread;
}

/** A batched engine with its own batcher and model thread (engines do not share calls). */
export async function createBatchedSileroEngine(name: 'silero-v5' | 'silero-v6', options: Partial<BatchedEngineOptions> = {}): Promise<BatchedSileroEngine> {
  const { thread = 'worker', ...batch } = options;
  const inference: SileroInference = thread === 'worker' ? new WorkerInference(name, batch.maxBatch ?? SILERO_BATCH_DEFAULTS.maxBatch) : new MainThreadInference(name);
  const batcher = new SileroBatcher(inference, batch);
  await inference.ready();
  return new BatchedSileroEngine(name, batcher);
}

export function isBatchableEngine(name: string): name is 'silero-v5' | 'silero-v6' {
  return name === 'silero-v5' || name === 'silero-v6';
}
