import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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

export interface ServiceSoak {
  name: string;
  /** RSS growth after warm-up, MB per 10 minutes (least-squares slope over every sample). */
  rssSlopeMbPer10Min: number;
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

export function summarize(name: string, samples: SoakSample[], warmupS: number): ServiceSoak {
  const after = samples.filter((s) => s.t >= warmupS);
  const slope = after.length >= 2 ? linearRegression(after.map((s) => [s.t, s.rssMb])).m : NaN;
  const first = after[0];
  const last = after.at(-1);
  const cpuPercent = first && last && last.t > first.t ? ((last.cpuSeconds - first.cpuSeconds) / (last.t - first.t)) * 100 : NaN;
  return { name, rssSlopeMbPer10Min: slope * 600, rssAfterWarmupMb: first?.rssMb ?? NaN, rssEndMb: last?.rssMb ?? NaN, cpuPercent, samples };
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
  const child = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', '--no-greeting', '--shared-capture',
    '--devices', String(opts.devices), '--input', input, '--timeout-s', String(Math.ceil(opts.minutes * 60 + 300))], {
    env: { ...process.env, CI: 'true', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pids = watchDemoProcesses(child);
  const t0 = performance.now();
  const samples = new Map<string, SoakSample[]>();
  const sample = () => {
    const t = (performance.now() - t0) / 1000;
    const parts: string[] = [];
    for (const [name, pid] of pids()) {
      if (!STACK_PROCESSES.includes(name)) continue;
      const p = readProc(pid);
      if (!p) continue;
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
  const services = [...samples].map(([name, s]) => summarize(name, s, warmupS));
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
