import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BatchedSileroEngine, createBatchedSileroEngine, createVadEngine, sharedSession, ort, SpeechDetector, type VadEngine } from '@voicebus/vad/internal';
import { searchCapacity, type SearchOptions } from './capacity-search.ts';
import { inferredFrameShare, loadNoisyFixture, NOISE_FLOOR_DBFS } from './noisy-fixtures.ts';
import { fmtSpread, latencyHistogram, minSamplesFor, spread, type Spread } from './stats.ts';

export interface BatchSpeed {
  batch: number;
  framesPerSecond: Spread;
}

/**
 * Silero v6 with several devices' frames in one inference call (batch dimension), against one
 * call per frame: the raw curve the batcher in the VAD service rides on.
 */
export async function benchBatching(batches: number[], seconds: number, repeats: number): Promise<BatchSpeed[]> {
  const session = await sharedSession('silero-v6');
  const { pcm } = loadNoisyFixture('conversation');
  const out: BatchSpeed[] = [];
  const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
  for (const b of batches) {
    const fps: number[] = [];
    for (let r = 0; r < repeats; r++) {
      let state: Float32Array = new Float32Array(2 * b * 128);
      const input = new Float32Array(b * 576);
      for (let k = 0; k < b; k++) for (let j = 0; j < 576; j++) input[k * 576 + j] = pcm[(k * 9973 + j) % pcm.length]! / 32768;
      let frames = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        const res = await session.run({ input: new ort.Tensor('float32', input, [b, 576]), state: new ort.Tensor('float32', state, [2, b, 128]), sr });
        state = res.stateN!.data as Float32Array;
        frames += b;
      }
      fps.push(frames / ((performance.now() - t0) / 1000));
    }
    out.push({ batch: b, framesPerSecond: spread(fps) });
  }
  return out;
}

export interface CapacityPoint {
  devices: number;
  /** Decision delay (chunk due → processed), ms: median of repeated runs (min–max). */
  p50Ms: Spread;
  p99Ms: Spread;
  /** Chunks measured per run (p99 needs at least minSamplesFor(99)). */
  n: number;
  /** Process CPU time / wall time while streaming (1 = one core busy; with the model on a worker, both threads). */
  cpuShare: Spread;
  /** Mean frames per inference call (1 unbatched). */
  meanBatch: number;
  /** How late the main thread's event loop ran its timers (p99, ms): what a blocking model call costs everyone else on the thread. */
  loopDelayP99Ms: Spread;
  /** Inference call time, p99 (ms) over the run, wherever the model runs. */
  callP99Ms: Spread;
}

/** How one VAD process runs Silero in the capacity runs: a call per frame, or batched on the main thread or a worker. */
export type CapacityMode = 'unbatched' | 'batched-main' | 'batched-worker';

export interface CapacityResult {
  engine: string;
  mode: CapacityMode;
  /** Kept for older readers: true for both batched modes. */
  batched: boolean;
  input: string;
  noiseFloorDbfs: number;
  /** Share of the input's frames loud enough to reach the model (the volume gate skips the rest). */
  inferredShare: number;
  points: CapacityPoint[];
  /** The most devices whose median p99 stayed under 10 ms (searched down and up from the given levels). */
  capacity: number;
  /** capacity / CPU share at that level: the streams a fully busy core would carry if CPU were the only limit (an extrapolation, shown beside the measured capacity). */
  streamsPerCore: number;
}

export const CAPACITY_P99_MS = 10;

/**
 * N devices streaming 20 ms chunks of the noisy conversation in real time into per-device
 * SpeechDetectors sharing one model in this process: the decision delay is the time from a
 * chunk's due time to the end of its processing. Every device starts at its own offset and the
 * noise floor keeps every frame above the volume gate, so every frame of every device is a
 * model call (or a row of one). The pacing runs on the main thread with the detectors, as the
 * service's NATS receive does, so a model call that blocks the thread delays both. The search
 * steps down from `levels` when the first fails, up past them when all pass, and bisects.
 */
export async function benchVadCapacity(engineName: 'silero-v5' | 'silero-v6', mode: CapacityMode, levels: number[], seconds: number, repeats: number, search: Partial<SearchOptions> = {}): Promise<CapacityResult> {
  const engine: VadEngine = mode === 'unbatched' ? await createVadEngine(engineName) : await createBatchedSileroEngine(engineName, { thread: mode === 'batched-worker' ? 'worker' : 'main' });
  const batcher = engine instanceof BatchedSileroEngine ? engine.batcher : undefined;
  const calls = timeCalls(engine);
  const { pcm } = loadNoisyFixture('conversation');
  const measure = async (devices: number): Promise<CapacityPoint> => {
    const p50: number[] = [];
    const p99: number[] = [];
    const cpu: number[] = [];
    const loop: number[] = [];
    const call: number[] = [];
    let n = 0;
    const calls0 = batcher ? { ...batcher.stats } : undefined;
    for (let r = 0; r < repeats; r++) {
      calls.reset();
      const run = await streamDevices(engine, pcm, devices, seconds);
      p50.push(run.p50Ms);
      p99.push(run.p99Ms);
      cpu.push(run.cpuShare);
      loop.push(run.loopDelayP99Ms);
      call.push(calls.p99Ms());
      n = run.n;
    }
    if (n < minSamplesFor(99)) throw new Error(`capacity at ${devices} devices: ${n} chunks are too few for a p99`);
    const meanBatch = batcher && calls0 ? (batcher.stats.frames - calls0.frames) / Math.max(1, batcher.stats.calls - calls0.calls) : 1;
    const point = { devices, p50Ms: spread(p50), p99Ms: spread(p99), n, cpuShare: spread(cpu), meanBatch, loopDelayP99Ms: spread(loop), callP99Ms: spread(call) };
    console.log(`  capacity ${engineName} ${mode} ${devices}: p50 ${fmtSpread(point.p50Ms)} p99 ${fmtSpread(point.p99Ms)} ms n=${n}, cpu ${point.cpuShare.median.toFixed(2)}, batch ${meanBatch.toFixed(1)}, loop delay p99 ${point.loopDelayP99Ms.median.toFixed(2)} ms, call p99 ${point.callP99Ms.median.toFixed(2)} ms`);
    return point;
  };
  const found = await searchCapacity(levels, measure, (p) => p.p99Ms.median < CAPACITY_P99_MS, { minDevices: 25, maxDevices: 2000, refineSteps: 2, grain: 25, ...search });
  const points = found.points.map((p) => p.point);
  const at = points.find((p) => p.devices === found.capacity);
  if (batcher) await batcher.inference.close();
  return {
    engine: engineName,
    mode,
    batched: mode !== 'unbatched',
    input: 'conversation (noisy)',
    noiseFloorDbfs: NOISE_FLOOR_DBFS,
    inferredShare: inferredFrameShare(pcm),
    points,
    capacity: found.capacity,
    streamsPerCore: at ? found.capacity / Math.max(at.cpuShare.median, 1e-9) : 0,
  };
}

/** Times every model call of the engine (the batcher's, or each stream's own) into a histogram. */
function timeCalls(engine: VadEngine): { reset(): void; p99Ms(): number } {
  const hist = latencyHistogram();
  const timed = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    const t = performance.now();
    try {
      return await fn(...a);
    } finally {
      hist.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
    }
  };
  if (engine instanceof BatchedSileroEngine) {
    const inf = engine.batcher.inference as { run: typeof engine.batcher.inference.run };
    inf.run = timed(inf.run.bind(inf));
  } else {
    const create = engine.createStream.bind(engine);
    engine.createStream = () => {
      const s = create();
      s.process = timed(s.process.bind(s));
      return s;
    };
  }
  return { reset: () => hist.reset(), p99Ms: () => hist.getValueAtPercentile(99) / 1000 };
}

async function streamDevices(engine: VadEngine, pcm: Int16Array, devices: number, seconds: number): Promise<{ p50Ms: number; p99Ms: number; n: number; cpuShare: number; loopDelayP99Ms: number }> {
  const detectors = Array.from({ length: devices }, () => new SpeechDetector(engine));
  const offsets = detectors.map((_, i) => (i * 7919 * 320) % (pcm.length - 320));
  const hist = latencyHistogram();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  // One second of warm-up so that first allocations do not count, then the measured stretch.
  const warmTicks = 50;
  const ticks = warmTicks + Math.round((seconds * 1000) / 20);
  const queues = detectors.map(() => Promise.resolve());
  const start = performance.now() + 5;
  let cpu0 = process.cpuUsage();
  let t0 = start;
  let n = 0;
  for (let tick = 0; tick < ticks; tick++) {
    if (tick === warmTicks) {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      loop.enable();
    }
    const measured = tick >= warmTicks;
    for (let d = 0; d < devices; d++) {
      // Devices are spread over the 20 ms period, as independent microphones are.
      const due = start + tick * 20 + (d * 20) / devices;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const off = (offsets[d]! + tick * 320) % (pcm.length - 320);
      queues[d] = queues[d]!.then(async () => {
        await detectors[d]!.push(pcm.subarray(off, off + 320), tick * 20_000, 16000);
        if (measured) {
          hist.recordValue(Math.max(1, Math.round((performance.now() - due) * 1000)));
          n++;
        }
      });
    }
  }
  await Promise.all(queues);
  loop.disable();
  const used = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  for (const d of detectors) d.close();
  return { p50Ms: hist.getValueAtPercentile(50) / 1000, p99Ms: hist.getValueAtPercentile(99) / 1000, n, cpuShare: (used.user + used.system) / 1000 / wall, loopDelayP99Ms: loop.percentile(99) / 1e6 };
}
