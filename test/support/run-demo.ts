import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import wavefile from 'wavefile';
import { audioVoiceToVoiceMs as measureAudioVoiceToVoice } from '../../demo/src/audio-latency.ts';
import type { TurnRow as DemoTurnRow } from '../../demo/src/conversation-monitor.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const FIXTURES = join(REPO, 'test/fixtures/speech');

export interface DemoRun {
  code: number | null;
  out: string;
  lines: string[];
  /** Permission refusals in the demo's nats-server log (see permissionViolations). */
  violations: string[];
}

/**
 * At most `n` demos at once (two cores, and each demo is seven processes): a demo started
 * through the returned function waits for a free slot.
 */
export function demoSlots(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * Runs `pnpm demo` the way a user does (a real process tree: NATS, simulator, services,
 * capture), with `onLine` seeing its output as it comes, and returns when it exits.
 */
export function runDemo(args: string[], options: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv; out?: string } = {}): Promise<DemoRun> {
  const out = options.out ?? mkdtempSync(join(tmpdir(), 'voicebus-demo-'));
  const child = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', ...args], {
    env: { ...process.env, CI: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = collectLines(child, options.onLine);
  return new Promise((resolvePromise) => child.on('exit', (code) => resolvePromise({ code, out, lines, violations: permissionViolations(out) })));
}

/**
 * What the demo's nats-server refused (its log, one line per refusal). The demo runs every
 * process on a credential of its own: a refusal is a service doing what its role does not
 * allow, which, unlike a crash, would otherwise pass unnoticed (a dropped subscription).
 */
export function permissionViolations(out: string): string[] {
  const logs = join(out, 'logs');
  if (!existsSync(logs)) return [];
  // nats-server.log, or one log per node of a --nats-cluster (n1.log, n2.log, ...).
  return readdirSync(logs)
    .filter((f) => f === 'nats-server.log' || /^n\d+\.log$/.test(f))
    .flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n').filter((l) => /Violation/.test(l)));
}

/** A child's stdout and stderr as whole lines, kept in order (and each handed to `onLine`). */
export function collectLines(child: ChildProcess, onLine?: (line: string) => void): string[] {
  const lines: string[] = [];
  let partial = '';
  const onData = (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      onLine?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return lines;
}

/** turns.jsonl rows as the demo writes them (answered rows have every latency field). */
export type TurnRow = Omit<DemoTurnRow, 'endOfTurnDelayMs' | 'busMs' | 'modelFirstAudioMs' | 'playbackBufferMs' | 'voiceToVoiceMs'> & {
  endOfTurnDelayMs: number;
  busMs: number;
  modelFirstAudioMs: number;
  playbackBufferMs: number;
  voiceToVoiceMs: number;
};

export function readTurns(out: string, device = 'dev1'): TurnRow[] {
  return readFileSync(join(out, device, 'turns.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TurnRow);
}

export function readHistory(out: string, device = 'dev1'): { role: string; text: string; turnId?: string }[] {
  return readFileSync(join(out, device, 'history.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { role: string; text: string; turnId?: string });
}

/** Audible stretches of a 24 kHz WAV (gaps of at least `gapS` of digital silence split them). */
export function audibleSegments(file: string, gapS = 0.1): { startS: number; endS: number }[] {
  const wav = new wavefile.WaveFile(readFileSync(file));
  const rate = (wav.fmt as { sampleRate: number }).sampleRate;
  const s = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  const gap = gapS * rate;
  const segs: { startS: number; endS: number }[] = [];
  let start = -1;
  let lastLoud = -1;
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== 0) {
      if (start < 0 || i - lastLoud > gap) {
        if (start >= 0) segs.push({ startS: start / rate, endS: (lastLoud + 1) / rate });
        start = i;
      }
      lastLoud = i;
    }
  }
  if (start >= 0) segs.push({ startS: start / rate, endS: (lastLoud + 1) / rate });
  return segs;
}

export function fixtureTruth(name: string): { segments: { startMs: number; endMs: number; turn: number }[]; turns: number } {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));
}

/** Voice-to-voice measured on the audio (see demo/src/audio-latency.ts), for a demo run's device. */
export function audioVoiceToVoiceMs(out: string, fixture: string, device = 'dev1'): number[] {
  return measureAudioVoiceToVoice(join(out, device), fixtureTruth(fixture));
}

/** The simulator's log lines (answers finished with their audible samples, faults fired). */
export function simLog(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, 'logs', 'gemini-sim.log'), 'utf8').split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Samples that are not zero: the simulator counts them in each answer it sends, playback writes them unchanged. */
export function audibleSamples(file: string): number {
  const wav = new wavefile.WaveFile(readFileSync(file));
  const s = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  let n = 0;
  for (const v of s) if (v !== 0) n++;
  return n;
}

/**
 * What the speaker played is exactly the audio of the answers the user heard (history), each
 * whole, sample for sample: no chunk twice, none lost, nothing of an answer nobody heard.
 */
export function expectAnswersPlayedWhole(out: string, device = 'dev1'): void {
  const sent = new Map<string, number>();
  for (const e of simLog(out)) if (e.event === 'answer-finished' && !e.interrupted) sent.set(e.text as string, e.audibleSamples as number);
  const heard = readHistory(out, device).filter((h) => h.role === 'assistant');
  const expected = heard.reduce((n, h) => {
    expect(sent.get(h.text), `the simulator sent "${h.text}" whole`).toBeDefined();
    return n + (sent.get(h.text) ?? 0);
  }, 0);
  expect(audibleSamples(join(out, device, 'assistant.wav')), 'samples played').toBe(expected);
}
