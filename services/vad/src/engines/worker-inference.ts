import { Worker } from 'node:worker_threads';
import type { SileroCall, SileroCallResult, SileroInference, SileroModel } from './silero-inference.ts';
import { CTRL, SILERO_HALF_STATE, sharedCall, type SharedCall, type WorkerInit, type WorkerNote } from './silero-worker-protocol.ts';

/**
 * Silero on a worker thread of its own (silero-worker.ts), one call at a time through shared
 * memory (the batcher never has two out). The worker holds the process open only while a call
 * is out, so an idle VAD (or a finished benchmark) exits as it did with the model on the main
 * thread.
 */
export class WorkerInference implements SileroInference {
  readonly thread = 'worker' as const;
  private readonly worker: Worker;
  private readonly shm: SharedCall;
  private readonly maxBatch: number;
  private readonly loaded: Promise<number>;
  private workerThreadId = -1;
  private asked = 0;
  private busy = false;
  private failed: Error | undefined;
  private lastCallError = 'silero call failed';
  /** Rejects the call that is out when the worker dies under it. */
  private abort: ((err: Error) => void) | undefined;

  constructor(model: SileroModel, maxBatch: number) {
    this.maxBatch = maxBatch;
    const shm = sharedCall(maxBatch);
    this.shm = shm;
    const init: WorkerInit = { model, maxBatch, ...shm.buffers };
    this.worker = new Worker(new URL('./silero-worker.ts', import.meta.url), { workerData: init });
    this.loaded = new Promise((resolve, reject) => {
      this.worker.on('message', (n: WorkerNote) => {
        if (n.type === 'ready') resolve(n.threadId);
        else if (n.type === 'load-failed') reject(new Error(`silero worker could not load ${model}: ${n.error}`));
        else this.lastCallError = n.error;
      });
      this.abort = reject;
    });
    this.loaded.then((id) => {
      this.workerThreadId = id;
      this.abort = undefined;
      this.worker.unref();
    }, () => {});
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`silero worker exited with code ${code}`)));
  }

  async ready(): Promise<void> {
    await this.loaded;
  }

  async run(call: SileroCall): Promise<SileroCallResult> {
    if (this.failed) throw this.failed;
    if (this.busy) throw new Error('one silero call at a time');
    if (call.b > this.maxBatch) throw new RangeError(`batch ${call.b} over the worker's ${this.maxBatch}`);
    this.busy = true;
    this.worker.ref();
    try {
      const { ctrl, input, state, probs, stateN } = this.shm;
      input.set(call.input);
      state.set(call.state);
      Atomics.store(ctrl, CTRL.batch, call.b);
      const n = ++this.asked;
      Atomics.store(ctrl, CTRL.asked, n);
      Atomics.notify(ctrl, CTRL.asked);
      await new Promise<void>((resolve, reject) => {
        this.abort = reject;
        const wait = (): void => {
          const w = Atomics.waitAsync(ctrl, CTRL.done, n - 1);
          if (!w.async) {
            if (Atomics.load(ctrl, CTRL.done) === n) resolve();
            else wait();
            return;
          }
          void w.value.then(() => (Atomics.load(ctrl, CTRL.done) === n ? resolve() : wait()));
        };
        wait();
      });
      this.abort = undefined;
      if (Atomics.load(ctrl, CTRL.failed)) throw new Error(this.lastCallError);
      return { probs: probs.slice(0, call.b), stateN: stateN.slice(0, 2 * call.b * SILERO_HALF_STATE), threadId: this.workerThreadId };
    } finally {
      this.busy = false;
      this.worker.unref();
    }
  }

  async close(): Promise<void> {
    this.failed ??= new Error('silero worker closed');
    await this.worker.terminate();
  }

  /** A dead worker fails the call that is out and every later one (actor restarts see it). */
  private fail(err: Error): void {
    this.failed ??= err;
    this.abort?.(err);
    this.abort = undefined;
  }
}
