import { createBatchedSileroEngine, createVadEngine, sharedSession, ort, SpeechDetector, type VadEngine } from '@voicebus/vad/internal';
import { inferredFrameShare, loadNoisyFixture, NOISE_FLOOR_DBFS } from './noisy-fixtures.ts';
import { latencyHistogram, minSamplesFor, spread, type Spread } from './stats.ts';

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
  /** Process CPU time / wall time while streaming (1 = one core busy). */
  cpuShare: Spread;
  /** Mean frames per inference call (1 unbatched). */
  meanBatch: number;
}

export interface CapacityResult {
  engine: string;
  batched: boolean;
  input: string;
  noiseFloorDbfs: number;
  /** Share of the input's frames loud enough to reach the model (the volume gate skips the rest). */
  inferredShare: number;
  points: CapacityPoint[];
  /** The most devices whose median p99 stayed under 10 ms. */
  capacity: number;
  /** capacity / CPU share at that level: the streams a fully busy core would carry if CPU were the only limit (an extrapolation, shown beside the measured capacity). */
  streamsPerCore: number;
}

/**
 * N devices streaming 20 ms chunks of the noisy conversation in real time into per-device
 * SpeechDetectors sharing one model in this process (one thread): the decision delay is the
 * time from a chunk's due time to the end of its processing. Every device starts at its own
 * offset and the noise floor keeps every frame above the volume gate, so every frame of every
 * device is a model call (or a row of one).
 */
export async function benchVadCapacity(engineName: 'silero-v5' | 'silero-v6', batched: boolean, levels: number[], seconds: number, repeats: number): Promise<CapacityResult> {
  const engine: VadEngine = batched ? await createBatchedSileroEngine(engineName) : await createVadEngine(engineName);
  const batcher = batched ? (engine as Awaited<ReturnType<typeof createBatchedSileroEngine>>).batcher : undefined;
  const { pcm } = loadNoisyFixture('conversation');
  const points: CapacityPoint[] = [];
  let capacity = 0;
  let streamsPerCore = 0;
  for (const devices of levels) {
    const p50: number[] = [];
    const p99: number[] = [];
    const cpu: number[] = [];
    let n = 0;
    const calls0 = batcher ? { ...batcher.stats } : undefined;
    for (let r = 0; r < repeats; r++) {
      const run = await streamDevices(engine, pcm, devices, seconds);
      p50.push(run.p50Ms);
      p99.push(run.p99Ms);
      cpu.push(run.cpuShare);
      n = run.n;
    }
    const meanBatch = batcher && calls0 ? (batcher.stats.frames - calls0.frames) / Math.max(1, batcher.stats.calls - calls0.calls) : 1;
    const point: CapacityPoint = { devices, p50Ms: spread(p50), p99Ms: spread(p99), n, cpuShare: spread(cpu), meanBatch };
    points.push(point);
    if (n < minSamplesFor(99)) throw new Error(`capacity at ${devices} devices: ${n} chunks are too few for a p99`);
    if (point.p99Ms.median < 10) {
      capacity = devices;
      streamsPerCore = devices / Math.max(point.cpuShare.median, 1e-9);
    } else break;
  }
  return { engine: engineName, batched, input: 'conversation (noisy)', noiseFloorDbfs: NOISE_FLOOR_DBFS, inferredShare: inferredFrameShare(pcm), points, capacity, streamsPerCore };
}

async function streamDevices(engine: VadEngine, pcm: Int16Array, devices: number, seconds: number): Promise<{ p50Ms: number; p99Ms: number; n: number; cpuShare: number }> {
  const detectors = Array.from({ length: devices }, () => new SpeechDetector(engine));
  const offsets = detectors.map((_, i) => (i * 7919 * 320) % (pcm.length - 320));
  const hist = latencyHistogram();
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
  const used = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  for (const d of detectors) d.close();
  return { p50Ms: hist.getValueAtPercentile(50) / 1000, p99Ms: hist.getValueAtPercentile(99) / 1000, n, cpuShare: (used.user + used.system) / 1000 / wall };
}
