import { threadId } from 'node:worker_threads';
import { ort, sharedSession } from './onnx-session.ts';

/** One batched Silero v5/v6 call: `b` rows of input (context + frame) and their state [2, b, 128]. */
export interface SileroCall {
  b: number;
  input: Float32Array;
  state: Float32Array;
}

export interface SileroCallResult {
  /** P(speech) per row. */
  probs: Float32Array;
  /** The state after the call, [2, b, 128]. */
  stateN: Float32Array;
  /** The thread that ran the model (tests check the worker really is another thread). */
  threadId: number;
}

/** Where the batcher's calls run: on this thread, or on a worker thread that owns the model. */
export interface SileroInference {
  readonly thread: 'main' | 'worker';
  /** Resolves once the model is loaded (a model that cannot load fails here, at start-up). */
  ready(): Promise<void>;
  run(call: SileroCall): Promise<SileroCallResult>;
  close(): Promise<void>;
}

export type SileroModel = 'silero-v5' | 'silero-v6';

/** Runs a call on a session of this thread (shared by the calls of the worker, or of the main thread). */
export async function runSileroCall(session: ort.InferenceSession, call: SileroCall): Promise<SileroCallResult> {
  const out = await session.run({
    input: new ort.Tensor('float32', call.input, [call.b, call.input.length / call.b]),
    state: new ort.Tensor('float32', call.state, [2, call.b, 128]),
    sr: SR,
  });
  return { probs: out.output!.data as Float32Array, stateN: out.stateN!.data as Float32Array, threadId };
}

const SR = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);

/**
 * The model on the main thread: onnxruntime-node runs a call there, so the event loop that
 * receives the chunks is blocked for the whole call (1-5 ms at batch 64). Kept to measure
 * against the worker, and for tools that have nothing else to do meanwhile.
 */
export class MainThreadInference implements SileroInference {
  readonly thread = 'main' as const;
  private readonly session: Promise<ort.InferenceSession>;

  constructor(model: SileroModel) {
    this.session = sharedSession(model);
  }

  async ready(): Promise<void> {
    await this.session;
  }

  async run(call: SileroCall): Promise<SileroCallResult> {
    return runSileroCall(await this.session, call);
  }

  async close(): Promise<void> {}
}
