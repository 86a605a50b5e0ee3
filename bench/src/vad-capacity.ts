import { createVadEngine } from '@voicebus/vad/internal';
import { sharedSession, ort } from '@voicebus/vad/internal';
import type { VadEngineName } from '@voicebus/vad/internal';
import { SpeechDetector } from '@voicebus/vad/internal';
import { loadFixture } from '@voicebus/vad/internal';
import { latencyHistogram, spread, type Spread } from './stats.ts';

export interface EngineSpeed {
  engine: VadEngineName;
  frameMs: number;
  /** Model frames per second on one core (sequential, one stream). */
  framesPerSecond: Spread;
  /** Audio seconds processed per wall second: real-time streams one core can carry. */
  realtimeFactor: Spread;
}

/** Frames per second of each engine on one core, on real speech. */
export async function benchEngineSpeed(engines: VadEngineName[], seconds: number, repeats: number): Promise<EngineSpeed[]> {
  const { pcm } = loadFixture('conversation');
  const out: EngineSpeed[] = [];
  for (const name of engines) {
    const engine = await createVadEngine(name);
    const frames: Float32Array[] = [];
    for (let i = 0; i + engine.frameSamples <= pcm.length; i += engine.frameSamples) frames.push(Float32Array.from(pcm.subarray(i, i + engine.frameSamples), (s) => s / 32768));
    const fps: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const stream = engine.createStream();
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) await stream.process(frames[n++ % frames.length]!);
      fps.push(n / ((performance.now() - t0) / 1000));
    }
    const frameMs = (engine.frameSamples / 16000) * 1000;
    out.push({ engine: name, frameMs, framesPerSecond: spread(fps), realtimeFactor: spread(fps.map((f) => (f * frameMs) / 1000)) });
  }
  return out;
}

export interface BatchSpeed {
  batch: number;
  framesPerSecond: Spread;
}

/**
 * Silero v5 with several devices' frames in one inference call (batch dimension), against
 * one call per frame: does batching buy throughput on this CPU?
 */
export async function benchBatching(batches: number[], seconds: number, repeats: number): Promise<BatchSpeed[]> {
  const session = await sharedSession('silero-v5');
  const { pcm } = loadFixture('conversation');
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
  p50Ms: number;
  p99Ms: number;
  behindMs: number;
}

/**
 * N devices streaming 20 ms chunks in real time into per-device SpeechDetectors sharing one
 * model in this process (one core): the decision delay is the time from a chunk's due time
 * to the end of its processing. The largest N with p99 under 10 ms is the capacity.
 */
export async function benchVadCapacity(engineName: VadEngineName, levels: number[], seconds: number): Promise<{ points: CapacityPoint[]; capacity: number }> {
  const engine = await createVadEngine(engineName);
  const { pcm } = loadFixture('conversation');
  const points: CapacityPoint[] = [];
  let capacity = 0;
  for (const devices of levels) {
    const detectors = Array.from({ length: devices }, () => new SpeechDetector(engine));
    const offsets = detectors.map((_, i) => (i * 7919 * 320) % (pcm.length - 320));
    const hist = latencyHistogram();
    const start = performance.now();
    const ticks = Math.round((seconds * 1000) / 20);
    // Each device has its own queue, processed in order, like an actor mailbox.
    const queues = detectors.map(() => Promise.resolve());
    let lastDue = 0;
    for (let n = 0; n < ticks; n++) {
      for (let d = 0; d < devices; d++) {
        const due = start + n * 20 + (d * 20) / devices;
        lastDue = due;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const off = (offsets[d]! + n * 320) % (pcm.length - 320);
        queues[d] = queues[d]!.then(async () => {
          await detectors[d]!.push(pcm.subarray(off, off + 320), n * 20_000, 16000);
          hist.recordValue(Math.max(1, Math.round((performance.now() - due) * 1000)));
        });
      }
    }
    await Promise.all(queues);
    const behindMs = performance.now() - lastDue;
    const p99Ms = hist.getValueAtPercentile(99) / 1000;
    points.push({ devices, p50Ms: hist.getValueAtPercentile(50) / 1000, p99Ms, behindMs });
    for (const d of detectors) d.close();
    if (p99Ms < 10) capacity = devices;
    else break;
  }
  return { points, capacity };
}
