import type { SileroCallResult, SileroInference } from './silero-inference.ts';
import { SILERO_V5_CONTEXT, SILERO_V5_FRAME } from './silero-v5-engine.ts';

const INPUT = SILERO_V5_CONTEXT + SILERO_V5_FRAME;
/** Silero v5/v6's recurrent state per stream: 2 × 128 floats (the model's state is [2, batch, 128]). */
export const SILERO_STATE_FLOATS = 2 * 128;
const HALF = 128;

export interface SileroBatchOptions {
  /** Most frames in one inference call; more wait for the next call. */
  maxBatch: number;
}

/**
 * 64 frames per call is past the knee of the batching curve on x86 (BENCHMARKS.md: batch 32 →
 * 2.7×, 64 → 2.8× the frames per second of batch 1), and keeps one call near 3 ms on this CPU.
 */
export const SILERO_BATCH_DEFAULTS: SileroBatchOptions = { maxBatch: 64 };

/** What a stream hands in: its input (context + frame) and its recurrent state, both updated in place. */
export interface BatchSlot {
  readonly state: Float32Array;
}

interface Job {
  slot: BatchSlot;
  input: Float32Array;
  resolve: (p: number) => void;
  reject: (err: unknown) => void;
}

export interface SileroBatchStats {
  calls: number;
  frames: number;
  largestBatch: number;
  /** The thread the last call ran on (the worker's id when inference is off the main thread). */
  threadId: number;
}

/**
 * Runs the frames that many device streams hand in as one Silero call with a batch dimension.
 * One call is out at a time; the frames handed in meanwhile (one socket read carries many
 * devices' chunks) make the next call, sent as soon as the previous one answers. So there is
 * no added wait: at low load a batch is one frame, under load batches grow by themselves, up
 * to maxBatch. With the model on a worker thread (WorkerInference, the service's default) the
 * event loop keeps receiving chunks while a call runs; on the main thread a call blocks it.
 * Each row keeps its own state, so every stream computes what it would alone.
 */
export class SileroBatcher {
  readonly options: SileroBatchOptions;
  readonly stats: SileroBatchStats = { calls: 0, frames: 0, largestBatch: 0, threadId: -1 };
  readonly inference: SileroInference;
  private pending: Job[] = [];
  private scheduled = false;
  private running = false;

  constructor(inference: SileroInference, options: Partial<SileroBatchOptions> = {}) {
    this.inference = inference;
    this.options = { ...SILERO_BATCH_DEFAULTS, ...options };
    if (!(this.options.maxBatch >= 1)) throw new RangeError(`maxBatch must be at least 1, got ${this.options.maxBatch}`);
  }

  /** Speech probability of `input` (576 samples: 64 of context, 512 new); `slot.state` is advanced. */
  submit(slot: BatchSlot, input: Float32Array): Promise<number> {
    if (input.length !== INPUT) throw new RangeError(`batched silero inputs are ${INPUT} samples, got ${input.length}`);
    return new Promise((resolve, reject) => {
      this.pending.push({ slot, input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.takeBatch();
        await this.run(batch);
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Up to maxBatch jobs, at most one per stream: a stream's next frame depends on the state its
   * previous one leaves, so it waits for the next call.
   */
  private takeBatch(): Job[] {
    const batch: Job[] = [];
    const rest: Job[] = [];
    const slots = new Set<BatchSlot>();
    for (const job of this.pending) {
      if (batch.length < this.options.maxBatch && !slots.has(job.slot)) {
        batch.push(job);
        slots.add(job.slot);
      } else rest.push(job);
    }
    this.pending = rest;
    return batch;
  }

  private async run(batch: Job[]): Promise<void> {
    const b = batch.length;
    const input = new Float32Array(b * INPUT);
    // The model's state is [2, batch, 128]: layer-major, so each stream's two halves are apart.
    const state = new Float32Array(2 * b * HALF);
    batch.forEach((job, k) => {
      input.set(job.input, k * INPUT);
      state.set(job.slot.state.subarray(0, HALF), k * HALF);
      state.set(job.slot.state.subarray(HALF), (b + k) * HALF);
    });
    let out: SileroCallResult;
    try {
      out = await this.inference.run({ b, input, state });
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    this.stats.calls++;
    this.stats.frames += b;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, b);
    this.stats.threadId = out.threadId;
    const { stateN, probs } = out;
    batch.forEach((job, k) => {
      job.slot.state.set(stateN.subarray(k * HALF, (k + 1) * HALF), 0);
      job.slot.state.set(stateN.subarray((b + k) * HALF, (b + k + 1) * HALF), HALF);
      job.resolve(probs[k]!);
    });
  }
}
