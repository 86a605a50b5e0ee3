/**
 * Child process of the VAD comparison: one segmenter (a voicebus engine or a peer) alone in its
 * own process, so that each brings its own onnxruntime-node (the peers pin other versions, and
 * two native builds cannot share a process) and its CPU time is its own.
 *
 * Input (argv[2], JSON): { segmenter, fixtures: [{ name, noisy }], speed: { fixture, seconds, repeats, streams } }.
 * Output (IPC): { segments per fixture, frames per CPU second and per wall second per repeat }.
 */
import { loadCleanPcm, loadNoisyFixture } from './noisy-fixtures.ts';
import type { Segment, Segmenter } from './segmenter-types.ts';

export interface WorkerRequest {
  segmenter: string;
  fixtures: { name: string; noisy: boolean }[];
  speed: { fixture: string; seconds: number; repeats: number; streams: number };
}

export interface WorkerReply {
  name: string;
  describe: string;
  frameMs: number;
  segments: { name: string; noisy: boolean; segments: Segment[] }[];
  framesPerCpuSecond: number[];
  framesPerWallSecond: number[];
  cpuShare: number[];
}

/** Imported on demand: a peer's process must not load voicebus's onnxruntime-node first. */
async function make(name: string): Promise<Segmenter> {
  if (name === 'livekit') return (await import('./peer-segmenters.ts')).livekitSegmenter();
  if (name === 'vad-node') return (await import('./peer-segmenters.ts')).vadNodeSegmenter();
  const { voicebusSegmenter } = await import('./segmenters.ts');
  return voicebusSegmenter(name.replace('+batch', '') as never, name.endsWith('+batch'));
}

const req = JSON.parse(process.argv[2]!) as WorkerRequest;
const s = await make(req.segmenter);
const pcmOf = (f: { name: string; noisy: boolean }) => (f.noisy ? loadNoisyFixture(f.name).pcm : loadCleanPcm(f.name));

const segments: WorkerReply['segments'] = [];
for (const f of req.fixtures) segments.push({ ...f, segments: (await s.run(pcmOf(f))).segments });

// Speed: whole passes over the fixture until `seconds` passed; `streams` devices at once, each
// starting at its own offset, so a batched engine sees several devices' frames together.
const pcm = loadNoisyFixture(req.speed.fixture).pcm;
const framesPerCpuSecond: number[] = [];
const framesPerWallSecond: number[] = [];
const cpuShare: number[] = [];
await s.run(pcm.subarray(0, 16000 * 2)); // warm-up: first calls allocate
const streams = Array.from({ length: req.speed.streams }, (_, k) => {
  const off = (k * 16000 * 3) % pcm.length;
  return Int16Array.from({ length: pcm.length }, (_, i) => pcm[(off + i) % pcm.length]!);
});
for (let r = 0; r < req.speed.repeats; r++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let frames = 0;
  while (performance.now() - t0 < req.speed.seconds * 1000) {
    const runs = await Promise.all(streams.map((x) => s.run(x)));
    frames += runs.reduce((a, x) => a + x.frames, 0);
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  framesPerCpuSecond.push(frames / cpuSeconds);
  framesPerWallSecond.push(frames / wall);
  cpuShare.push(cpuSeconds / wall);
}
const reply: WorkerReply = { name: s.name, describe: s.describe, frameMs: s.frameMs, segments, framesPerCpuSecond, framesPerWallSecond, cpuShare };
process.send!(reply, () => process.exit(0));
