import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { audioVoiceToVoiceMs, type FixtureTruth } from '../../demo/src/audio-latency.ts';
import { stageStats, type StageStats } from './stack-runs.ts';
import { spread } from './stats.ts';

const REPO = resolve(import.meta.dirname, '../..');
const FIXTURES = join(REPO, 'test/fixtures/speech');

interface Row {
  turnId: string;
  answered: boolean;
  interrupted: boolean;
  voiceToVoiceMs: number | null;
  modelFirstAudioMs: number | null;
  speculations?: { started: number; confirmed: number; withdrawn: number };
}

export interface LatencyTurn {
  reportedMs: number;
  measuredMs: number;
  modelMs: number;
}

export interface LatencyResult {
  endpointing: string;
  fixture: string;
  runs: number;
  /** Turns in the input, and turns the demo found (fewer: a turn was merged; more: one was cut). */
  turnsExpected: number;
  turnsFound: number;
  answered: number;
  interrupted: number;
  withdrawn: number;
  turns: LatencyTurn[];
}

/** One demo run on a fixture, the simulator at its default model delay, and its rows. */
async function runOnce(fixture: string, endpointing: string): Promise<{ rows: Row[]; measured: number[] }> {
  const out = mkdtempSync(join(tmpdir(), 'voicebus-latency-'));
  const child = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', '--no-greeting', '--endpointing', endpointing, '--input', join(FIXTURES, `${fixture}.wav`)], {
    env: { ...process.env, CI: 'true', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`demo run (${endpointing}) failed with code ${code}; see ${out}/logs`);
  const rows = readFileSync(join(out, 'dev1', 'turns.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  const truth = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8')) as FixtureTruth;
  return { rows, measured: audioVoiceToVoiceMs(join(out, 'dev1'), truth) };
}

/**
 * Voice-to-voice per endpointing mode, measured on the audio (input truth to the first audible
 * assistant sample) beside what the stack reports, on a conversation with in-turn pauses over
 * a noise floor. Runs are sequential: one demo at a time.
 */
export async function benchLatency(modes: string[], runs: number, fixture = 'noisy-conversation'): Promise<LatencyResult[]> {
  const truth = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8')) as FixtureTruth;
  const results: LatencyResult[] = [];
  for (const endpointing of modes) {
    const r: LatencyResult = { endpointing, fixture, runs, turnsExpected: 0, turnsFound: 0, answered: 0, interrupted: 0, withdrawn: 0, turns: [] };
    for (let i = 0; i < runs; i++) {
      const { rows, measured } = await runOnce(fixture, endpointing);
      r.turnsExpected += truth.turns;
      r.turnsFound += rows.length;
      for (const [k, row] of rows.entries()) {
        if (row.answered) r.answered++;
        if (row.interrupted) r.interrupted++;
        r.withdrawn += row.speculations?.withdrawn ?? 0;
        // Only where the rows line up with the input's turns is a row compared with the audio.
        if (rows.length !== truth.turns || !row.answered || row.voiceToVoiceMs === null || row.modelFirstAudioMs === null || !Number.isFinite(measured[k]!)) continue;
        r.turns.push({ reportedMs: row.voiceToVoiceMs, measuredMs: measured[k]!, modelMs: row.modelFirstAudioMs });
      }
    }
    results.push(r);
  }
  return results;
}

export interface LatencySummary {
  /** Voice-to-voice on the audio: p50, p95 where n allows it, max, n. */
  measured: StageStats;
  /** The same minus the model's time to first audio: what the stack and the endpointing cost. */
  withoutModel: StageStats;
  /** Reported minus measured: the median (it may be negative) and the worst either way. */
  reportedMinusMeasuredMedian: number;
  reportedMinusMeasuredWorst: number;
}

/** One mode's figures, as the console and BENCHMARKS.md both print them. */
export function summarizeLatency(r: LatencyResult): LatencySummary {
  const diff = r.turns.map((t) => t.reportedMs - t.measuredMs);
  return {
    measured: stageStats(r.turns.map((t) => t.measuredMs)),
    withoutModel: stageStats(r.turns.map((t) => t.measuredMs - t.modelMs)),
    reportedMinusMeasuredMedian: diff.length ? spread(diff).median : NaN,
    reportedMinusMeasuredWorst: diff.length ? Math.max(...diff.map(Math.abs)) : NaN,
  };
}
