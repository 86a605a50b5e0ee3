/**
 * Worker thread that owns the VAD process's Silero session. The batcher on the main thread
 * writes a call's rows into shared memory and bumps the `asked` word; this thread runs the
 * model, writes the probabilities and new states back and bumps `done`. The main thread's
 * event loop stays free to receive the next chunks while the model runs.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { sharedSession } from './onnx-session.ts';
import { runSileroCall } from './silero-inference.ts';
import { CTRL, SILERO_HALF_STATE, SILERO_INPUT, sharedCall, type WorkerInit, type WorkerNote } from './silero-worker-protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const shm = sharedCall(init.maxBatch, init);
const note = (n: WorkerNote) => port.postMessage(n);
// Atomics.waitAsync holds no handle open: without a listener on the port this thread would
// exit while it waits for the next call (the main thread decides when it is done).
port.on('message', () => {});

let session;
try {
  session = await sharedSession(init.model);
} catch (err) {
  note({ type: 'load-failed', error: err instanceof Error ? err.message : String(err) });
  throw err;
}
note({ type: 'ready', threadId });

for (let seen = 0; ; ) {
  // Asynchronous wait: onnxruntime-node's run needs this thread's event loop.
  const w = Atomics.waitAsync(shm.ctrl, CTRL.asked, seen);
  if (w.async) await w.value;
  const asked = Atomics.load(shm.ctrl, CTRL.asked);
  if (asked === seen) continue;
  seen = asked;
  const b = Atomics.load(shm.ctrl, CTRL.batch);
  let failed = 0;
  try {
    // Copies of the rows in use ([b, 576] and [2, b, 128], packed): the model reads its inputs
    // while this thread could be asked again, and they are a few KB.
    const input = shm.input.slice(0, b * SILERO_INPUT);
    const state = shm.state.slice(0, 2 * b * SILERO_HALF_STATE);
    const r = await runSileroCall(session, { b, input, state });
    shm.probs.set(r.probs.subarray(0, b));
    shm.stateN.set(r.stateN.subarray(0, 2 * b * SILERO_HALF_STATE));
  } catch (err) {
    failed = 1;
    note({ type: 'call-failed', error: err instanceof Error ? err.message : String(err) });
  }
  Atomics.store(shm.ctrl, CTRL.failed, failed);
  Atomics.store(shm.ctrl, CTRL.done, seen);
  Atomics.notify(shm.ctrl, CTRL.done);
}
