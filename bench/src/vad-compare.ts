import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { loadFixture, trueTurns } from '@voicebus/vad/internal';
import { spread, type Spread } from './stats.ts';
import type { Segment } from './segmenters.ts';
import type { WorkerReply, WorkerRequest } from './segmenter-worker.ts';

/** Clean fixtures (test/fixtures/speech) and the same speech over the -45 dBFS floor. */
export const CLEAN_FIXTURES = ['single-hello', 'single-weather', 'single-fast', 'pause-300ms', 'three-turns-2s', 'noisy-speech', 'noise', 'silence', 'conversation', 'barge-in'];
export const NOISY_FIXTURES = ['single-hello', 'single-weather', 'single-fast', 'pause-300ms', 'three-turns-2s', 'noisy-speech', 'silence', 'conversation', 'barge-in'];

export interface Accuracy {
  fixtures: number;
  /** Fixtures where the number of segments equals the number of true turns. */
  countsRight: number;
  truthTurns: number;
  /** True turns no segment overlaps, and segments that overlap no true turn. */
  missed: number;
  extra: number;
  /** Mean |error| of the starts and ends of matched turns, and the worst of either (ms). */
  startErrorMs: number;
  endErrorMs: number;
  maxErrorMs: number;
  matched: number;
}

export interface ComparedEngine {
  key: string;
  name: string;
  describe: string;
  frameMs: number;
  streams: number;
  framesPerCpuSecond: Spread;
  framesPerWallSecond: Spread;
  cpuShare: Spread;
  clean: Accuracy;
  noisy: Accuracy;
}

const overlap = (a: Segment, b: Segment) => Math.max(0, Math.min(a.endMs, b.endMs) - Math.max(a.startMs, b.startMs));

/** Each true turn against the segment that overlaps it most; what overlaps nothing is missed or extra. */
export function score(results: { truth: Segment[]; segments: Segment[] }[]): Accuracy {
  const starts: number[] = [];
  const ends: number[] = [];
  let countsRight = 0;
  let missed = 0;
  let extra = 0;
  let truthTurns = 0;
  for (const { truth, segments } of results) {
    truthTurns += truth.length;
    if (segments.length === truth.length) countsRight++;
    for (const t of truth) {
      const best = segments.reduce<Segment | undefined>((m, s) => (overlap(s, t) > (m ? overlap(m, t) : 0) ? s : m), undefined);
      if (!best) {
        missed++;
        continue;
      }
      starts.push(Math.abs(best.startMs - t.startMs));
      ends.push(Math.abs(best.endMs - t.endMs));
    }
    extra += segments.filter((s) => !truth.some((t) => overlap(s, t) > 0)).length;
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return { fixtures: results.length, countsRight, truthTurns, missed, extra, startErrorMs: mean(starts), endErrorMs: mean(ends), maxErrorMs: Math.max(...starts, ...ends), matched: starts.length };
}

async function runWorker(req: WorkerRequest): Promise<WorkerReply> {
  const child = fork(join(import.meta.dirname, 'segmenter-worker.ts'), [JSON.stringify(req)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [reply] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(([code]) => { throw new Error(`${req.segmenter} worker exited with ${code}`); })])) as [WorkerReply];
  await once(child, 'exit');
  return reply;
}

/**
 * voicebus's engines and the peers, each in its own process, on the same audio: frames per CPU
 * second (one core's worth of work) on the noisy conversation, and boundary errors on the clean
 * and noisy fixtures against the truth measured on the clean audio.
 */
export async function benchVadCompare(keys: { key: string; streams: number }[], seconds: number, repeats: number): Promise<ComparedEngine[]> {
  const fixtures = [...CLEAN_FIXTURES.map((name) => ({ name, noisy: false })), ...NOISY_FIXTURES.map((name) => ({ name, noisy: true }))];
  const out: ComparedEngine[] = [];
  for (const { key, streams } of keys) {
    const r = await runWorker({ segmenter: key, fixtures, speed: { fixture: 'conversation', seconds, repeats, streams } });
    const scored = (noisy: boolean) => score(r.segments.filter((s) => s.noisy === noisy).map((s) => ({ truth: trueTurns(loadFixture(s.name).truth), segments: s.segments })));
    out.push({
      key,
      name: r.name,
      describe: r.describe,
      frameMs: r.frameMs,
      streams,
      framesPerCpuSecond: spread(r.framesPerCpuSecond),
      framesPerWallSecond: spread(r.framesPerWallSecond),
      cpuShare: spread(r.cpuShare),
      clean: scored(false),
      noisy: scored(true),
    });
  }
  return out;
}
