/**
 * What WorkerInference (main thread) and silero-worker.ts (its thread) share: one call at a
 * time goes through shared memory, so a call is a few stores and an Atomics.notify on each
 * side instead of a postMessage with buffers to detach and clone (which cost the worker about
 * a sixth of its time next to the model, measured with --cpu-prof at 150 devices).
 */
export const SILERO_INPUT = 576;
export const SILERO_HALF_STATE = 128;

/** Control words: the call number the main thread asks for, the one the worker finished, the batch, the outcome. */
export const CTRL = { asked: 0, done: 1, batch: 2, failed: 3 } as const;
const CTRL_WORDS = 4;

export interface SharedCall {
  ctrl: Int32Array;
  input: Float32Array;
  state: Float32Array;
  probs: Float32Array;
  stateN: Float32Array;
}

/** The layout for calls of up to `maxBatch` rows: the rows' inputs and states, the probabilities and new states. */
export function sharedCall(maxBatch: number, buffers?: { ctrl: SharedArrayBuffer; data: SharedArrayBuffer }): SharedCall & { buffers: { ctrl: SharedArrayBuffer; data: SharedArrayBuffer } } {
  const stateFloats = 2 * maxBatch * SILERO_HALF_STATE;
  const ctrl = buffers?.ctrl ?? new SharedArrayBuffer(CTRL_WORDS * 4);
  const data = buffers?.data ?? new SharedArrayBuffer((maxBatch * SILERO_INPUT + 2 * stateFloats + maxBatch) * 4);
  let at = 0;
  const take = (n: number) => {
    const view = new Float32Array(data, at * 4, n);
    at += n;
    return view;
  };
  return { ctrl: new Int32Array(ctrl), input: take(maxBatch * SILERO_INPUT), state: take(stateFloats), stateN: take(stateFloats), probs: take(maxBatch), buffers: { ctrl, data } };
}

export interface WorkerInit {
  model: 'silero-v5' | 'silero-v6';
  maxBatch: number;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** Messages from the worker: the model loaded (or not), and the text of a failed call. */
export type WorkerNote = { type: 'ready'; threadId: number } | { type: 'load-failed'; error: string } | { type: 'call-failed'; error: string };
