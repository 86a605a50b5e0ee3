import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { linearRegression } from 'simple-statistics';
import { unansweredTurns, type TurnRow } from '../../demo/src/conversation-monitor.ts';
import { noisyWavPath } from './noisy-fixtures.ts';
import { demoTurnRowsByDevice, readProc, STACK_PROCESSES, watchDemoProcesses } from './stack-runs.ts';

const REPO = resolve(import.meta.dirname, '../..');

export interface SoakOptions {
  devices: number;
  minutes: number;
  /** Samples before this are start-up (model loading, JIT, caches filling) and left out of the slopes. */
  warmupMinutes: number;
  intervalS: number;
}

export const SOAK_DEFAULTS: SoakOptions = { devices: 20, minutes: 30, warmupMinutes: 5, intervalS: 10 };

export interface SoakSample {
  /** Seconds since the demo started. */
  t: number;
  rssMb: number;
  cpuSeconds: number;
}

/** A service's own `memory` log line (MEMORY_LOG_S), MB. */
export interface MemorySample {
  t: number;
  heapUsed: number;
  /** RSS less V8's heap: native memory (buffers, onnxruntime, allocator). */
  native: number;
}

export interface ServiceSoak {
  name: string;
  /** From the service's own memory lines, after warm-up, MB per 10 minutes: where a leak is. */
  heapSlopeMbPer10Min?: number | undefined;
  nativeSlopeMbPer10Min?: number | undefined;
  /** RSS growth after warm-up, MB per 10 minutes (least-squares slope over every sample). */
  rssSlopeMbPer10Min: number;
  /**
   * The same over the second half of the samples after warm-up only: a leak keeps its slope,
   * a process still filling its allocator's arenas or caches flattens out. Shown beside the
   * target's slope, not instead of it.
   */
  rssLateSlopeMbPer10Min?: number | undefined;
  rssAfterWarmupMb: number;
  rssEndMb: number;
  /** Mean CPU after warm-up, % of one core. */
  cpuPercent: number;
  samples: SoakSample[];
}

export interface SoakResult {
  options: SoakOptions;
  input: string;
  wallSeconds: number;
  exitCode: number | null;
  turns: number;
  answered: number;
  services: ServiceSoak[];
  /** Samples after warm-up per service (the n behind each slope). */
  n: number;
}

/** The noisy conversation repeated until it lasts `minutes` (sox), one long microphone per device. */
function longInput(minutes: number, dir: string): string {
  const one = noisyWavPath('conversation');
  const seconds = Number(execFileSync('sox', ['--i', '-D', one]).toString().trim());
  const times = Math.max(1, Math.ceil((minutes * 60) / seconds));
  const out = join(dir, `conversation-x${times}.wav`);
  execFileSync('sox', [...Array.from({ length: times }, () => one), out]);
  return out;
}

function turnsOf(out: string): { turns: number; answered: number } {
  // The spoken turns are the answered ones and those owed an answer (a false interruption is
  // none; a continued one counts with the answer that came after it, or as owed if none did).
  let answered = 0;
  let owed = 0;
  for (const rows of demoTurnRowsByDevice<TurnRow>(out)) {
    answered += rows.filter((r) => r.answered).length;
    owed += unansweredTurns(rows).length;
  }
  return { turns: answered + owed, answered };
}

const slopePer10Min = (points: [number, number][]) => (points.length >= 2 ? linearRegression(points).m * 600 : NaN);

/** The `memory` lines of a service's log (MEMORY_LOG_S), on the soak's clock (`t0` epoch ms). */
export function memorySamples(logText: string, t0EpochMs: number): MemorySample[] {
  const out: MemorySample[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('"msg":"memory"')) continue;
    try {
      const l = JSON.parse(line) as { time: string; memory: { rss: number; heapTotal: number; heapUsed: number } };
      out.push({ t: (Date.parse(l.time) - t0EpochMs) / 1000, heapUsed: l.memory.heapUsed, native: l.memory.rss - l.memory.heapTotal });
    } catch {
      // a line cut off at the end of the run
    }
  }
  return out;
}

export function summarize(name: string, samples: SoakSample[], warmupS: number, memory: MemorySample[] = []): ServiceSoak {
  const mem = memory.filter((s) => s.t >= warmupS);
  const after = samples.filter((s) => s.t >= warmupS);
  const slope = after.length >= 2 ? linearRegression(after.map((s) => [s.t, s.rssMb])).m : NaN;
  const late = after.slice(Math.floor(after.length / 2));
  const first = after[0];
  const last = after.at(-1);
  const cpuPercent = first && last && last.t > first.t ? ((last.cpuSeconds - first.cpuSeconds) / (last.t - first.t)) * 100 : NaN;
  return {
    name,
    rssSlopeMbPer10Min: slope * 600,
    rssLateSlopeMbPer10Min: slopePer10Min(late.map((s) => [s.t, s.rssMb])),
    ...(mem.length >= 2 ? { heapSlopeMbPer10Min: slopePer10Min(mem.map((s) => [s.t, s.heapUsed])), nativeSlopeMbPer10Min: slopePer10Min(mem.map((s) => [s.t, s.native])) } : {}),
    rssAfterWarmupMb: first?.rssMb ?? NaN,
    rssEndMb: last?.rssMb ?? NaN,
    cpuPercent,
    samples,
  };
}

/**
 * The stack under a long conversation: `devices` devices, each speaking the noisy
 * conversation over and over for `minutes`, the simulator at its default model delay. Every
 * `intervalS` each process's RSS and CPU time are read from /proc; after the warm-up, RSS is
 * fitted with a line (a leak is a slope) and CPU averaged. Every spoken turn must be answered.
 */
export async function soak(options: Partial<SoakOptions> = {}, onSample?: (t: number, line: string) => void): Promise<SoakResult> {
  const opts = { ...SOAK_DEFAULTS, ...options };
  const dir = mkdtempSync(join(tmpdir(), 'voicebus-soak-'));
  const input = longInput(opts.minutes, dir);
  const out = join(dir, 'out');
  const child = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', '--no-greeting', '--shared-capture', '--no-recording',
    '--devices', String(opts.devices), '--input', input, '--timeout-s', String(Math.ceil(opts.minutes * 60 + 300))], {
    // Each service logs its memory (heap and native) as often as it is sampled here.
    env: { ...process.env, CI: 'true', LOG_LEVEL: 'info', MEMORY_LOG_S: String(opts.intervalS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pids = watchDemoProcesses(child);
  const t0 = performance.now();
  const t0EpochMs = Date.now();
  const samples = new Map<string, SoakSample[]>();
  const sample = () => {
    const t = (performance.now() - t0) / 1000;
    const parts: string[] = [];
    for (const [name, pid] of pids()) {
      if (!STACK_PROCESSES.includes(name)) continue;
      const p = readProc(pid);
      // A process that exited and is not reaped yet has no RSS line: no sample, not a zero.
      if (!p || p.rssKb === 0) continue;
      const list = samples.get(name) ?? [];
      list.push({ t, rssMb: p.rssKb / 1024, cpuSeconds: p.cpu });
      samples.set(name, list);
      parts.push(`${name} ${(p.rssKb / 1024).toFixed(0)} MB`);
    }
    onSample?.(t, parts.join(', '));
  };
  const timer = setInterval(sample, opts.intervalS * 1000);
  const exitCode = await new Promise<number | null>((r) => child.on('exit', r));
  clearInterval(timer);
  const warmupS = opts.warmupMinutes * 60;
  const memoryOf = (name: string) => {
    const log = join(out, 'logs', `${name}.log`);
    return existsSync(log) ? memorySamples(readFileSync(log, 'utf8'), t0EpochMs) : [];
  };
  const services = [...samples].map(([name, s]) => summarize(name, s, warmupS, memoryOf(name)));
  return {
    options: opts,
    input,
    wallSeconds: (performance.now() - t0) / 1000,
    exitCode,
    ...turnsOf(out),
    services,
    n: Math.min(...services.map((s) => s.samples.filter((x) => x.t >= warmupS).length)),
  };
}
