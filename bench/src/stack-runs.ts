import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import hdr from 'hdr-histogram-js';
import { percentileIfMeaningful } from './stats.ts';
import { SERVICE_NODE_FLAGS } from '../../demo/src/stack.ts';

const REPO = resolve(import.meta.dirname, '../..');
const FIXTURES = join(REPO, 'test/fixtures/speech');
const CLK_TCK = 100;

interface Row {
  answered: boolean;
  endOfTurnDelayMs: number;
  busMs: number;
  modelFirstAudioMs: number;
  playbackBufferMs: number;
  voiceToVoiceMs: number;
}

export interface ProcessUsage {
  name: string;
  cpuSeconds: number;
  peakRssMb: number;
  /** CPU seconds so far, sampled every 250 ms (t: seconds since the demo started). */
  samples: { t: number; cpu: number }[];
}

export interface StackRun {
  devices: number;
  rows: Row[];
  wallSeconds: number;
  usage: ProcessUsage[];
  /** When the capture process appeared (s since the demo started): audio starts flowing then. */
  captureStartS: number;
  inputSeconds: number;
}

/** A child of the demo process by its command name (its private nats-server). */
export function demoChildPid(demoPid: number, command = 'nats-server'): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === command && ppid === demoPid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * The demo's processes by name, as it starts them (`[demo] started NAME (pid N)` on its
 * stdout) plus its private nats-server as `nats`; `onStarted` hears each name once it appears.
 */
export function watchDemoProcesses(child: ChildProcess, onStarted?: (name: string) => void): () => Map<string, number> {
  const pids = new Map<string, number>();
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /\[demo\] started ([\w-]+) \(pid (\d+)\)/.exec(line);
      if (!m) continue;
      // The demo says `started nats-server` for its server (again after a restart, with the new
      // pid): it is `nats`, the name the fallback below finds it by, so it is counted once.
      const name = m[1] === 'nats-server' ? 'nats' : m[1]!;
      pids.set(name, Number(m[2]));
      onStarted?.(name);
    }
  });
  child.stderr?.on('data', () => {});
  return () => {
    if (!pids.has('nats') && child.pid) {
      const nats = demoChildPid(child.pid);
      if (nats) pids.set('nats', nats);
    }
    return pids;
  };
}

/** Every device's turns.jsonl rows in a demo's output directory. */
export function demoTurnRows<T>(out: string): T[] {
  return demoTurnRowsByDevice<T>(out).flat();
}

/** The same rows, one list per device, each in the order of its turns. */
export function demoTurnRowsByDevice<T>(out: string): T[][] {
  return readdirSync(out).flatMap((dir) => {
    const f = join(out, dir, 'turns.jsonl');
    return existsSync(f) ? [readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T)] : [];
  });
}

/** Seconds of audio in a 16 kHz mono s16 WAV (size of the data after a 44-byte header, near enough). */
function wavSeconds(file: string): number {
  return (statSync(file).size - 44) / 32000;
}

/** A process's CPU seconds (user + system) and resident memory, from /proc. */
export function readProc(pid: number): { cpu: number; rssKb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu, rssKb: Number(rss?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}

/**
 * How a stack run is wired: `nats` is the demo as shipped (a process per service on a private
 * nats-server, with leases and the JetStream histories); `nats-core` the same processes on the
 * same server with what JetStream gives switched off (no leases, no histories), so only core
 * publish/subscribe is left; `in-process` the same services in one process on a LocalConnection,
 * no server (bench/src/in-process-stack.ts). The simulator is its own process in all three.
 */
export const STACK_MODES = ['nats', 'nats-core', 'in-process'] as const;
export type StackMode = (typeof STACK_MODES)[number];

/** What `nats-core` turns off, as the services' own settings. */
const NATS_CORE_ENV = { OWNERSHIP: 'none', TURN_HISTORY_S: '0', AUDIO_HISTORY_S: '0', ANSWER_HISTORY_S: '0' };

/**
 * Runs the stack with N devices and the simulator's model delay at zero, sampling each
 * process's CPU and memory. `input` is a fixture name (test/fixtures/speech) or a WAV path. The
 * simulator synthesises every answer anew (its speech cache off), as a model would.
 */
export async function runStack(devices: number, input: string, extra: string[] = [], mode: StackMode = 'nats'): Promise<StackRun> {
  const out = mkdtempSync(join(tmpdir(), 'voicebus-bench-'));
  const wav = input.endsWith('.wav') ? input : join(FIXTURES, `${input}.wav`);
  const args = mode === 'in-process'
    ? [...SERVICE_NODE_FLAGS, join(REPO, 'bench/src/in-process-stack.ts'), '--out', out, '--model-delay-ms', '0', '--devices', String(devices), '--input', wav, ...extra]
    : [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', '--no-greeting', '--shared-capture', '--no-recording', '--model-delay-ms', '0', '--devices', String(devices), '--input', wav, ...extra];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, CI: 'true', LOG_LEVEL: 'warn', SIM_SPEECH_CACHE: 'off', ...(mode === 'nats-core' ? NATS_CORE_ENV : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let captureStartS = NaN;
  const usage = new Map<string, ProcessUsage>();
  const t0 = performance.now();
  const pids = watchDemoProcesses(child, (name) => {
    // In one process, the audio starts when the runner says so (it says it as capture starts).
    if ((name.startsWith('capture') || name === 'in-process') && Number.isNaN(captureStartS)) captureStartS = (performance.now() - t0) / 1000;
  });
  const sampler = setInterval(() => {
    const t = (performance.now() - t0) / 1000;
    for (const [name, pid] of pids()) {
      const p = readProc(pid);
      if (!p) continue;
      const u = usage.get(name) ?? { name, cpuSeconds: 0, peakRssMb: 0, samples: [] };
      u.cpuSeconds = Math.max(u.cpuSeconds, p.cpu);
      u.peakRssMb = Math.max(u.peakRssMb, p.rssKb / 1024);
      u.samples.push({ t, cpu: p.cpu });
      usage.set(name, u);
    }
  }, 250);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${mode} stack run with ${devices} devices failed (code ${code}); see ${out}/logs`);
  const rows = demoTurnRows<Row>(out);
  return { devices, rows, wallSeconds: (performance.now() - t0) / 1000, usage: [...usage.values()], captureStartS, inputSeconds: wavSeconds(wav) };
}

export interface StageStats {
  p50: number;
  /** Absent when n is too small for the percentile to be more than the largest values (stats.ts minSamplesFor). */
  p95?: number | undefined;
  p99?: number | undefined;
  max: number;
  n: number;
}

export function stageStats(values: number[]): StageStats {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (const v of values) h.recordValue(Math.max(1, Math.round(v * 1000)));
  const pct = (p: number) => { const v = percentileIfMeaningful(h, p, values.length); return v === undefined ? undefined : v / 1000; };
  return { p50: h.getValueAtPercentile(50) / 1000, p95: pct(95), p99: pct(99), max: h.maxValue / 1000, n: values.length };
}

export interface PipelineOverhead {
  devices: number;
  endOfTurnSilenceMs: number;
  /** End-of-turn decision minus the configured silence: the VAD's own share. */
  endpointingOverhead: StageStats;
  bus: StageStats;
  /** The simulator with zero delay: synthesis and first chunk, i.e. the model stand-in. */
  model: StageStats;
  /** Jitter buffer (its target is 60 ms), reported on its own. */
  playbackBuffer: StageStats;
  /** What the stack itself adds: endpointing overhead + bus (buffer and model excluded). */
  stackOverhead: StageStats;
  voiceToVoiceMinusSilence: StageStats;
}

/** The stages over the answered turns of several runs with the same device count, pooled. */
export function pipelineOverhead(runs: StackRun[], endOfTurnSilenceMs = 700): PipelineOverhead & { runs: number; turns: number; answered: number } {
  const all = runs.flatMap((r) => r.rows);
  const rows = all.filter((r) => r.answered);
  return {
    devices: runs[0]!.devices,
    runs: runs.length,
    turns: all.length,
    answered: rows.length,
    endOfTurnSilenceMs,
    endpointingOverhead: stageStats(rows.map((r) => r.endOfTurnDelayMs - endOfTurnSilenceMs)),
    bus: stageStats(rows.map((r) => r.busMs)),
    model: stageStats(rows.map((r) => r.modelFirstAudioMs)),
    playbackBuffer: stageStats(rows.map((r) => r.playbackBufferMs)),
    stackOverhead: stageStats(rows.map((r) => r.endOfTurnDelayMs - endOfTurnSilenceMs + r.busMs)),
    voiceToVoiceMinusSilence: stageStats(rows.map((r) => r.voiceToVoiceMs - endOfTurnSilenceMs)),
  };
}

export interface ScalingPoint {
  devices: number;
  /** The steady-state window: from 2 s after audio starts to 0.5 s before it ends (s since the demo started). */
  window: [number, number];
  services: { name: string; cpuPercentPerDevice: number; rssMb: number }[];
  /** Sum over the stack's processes (capture, vad, session, playback, nats; not the simulator, which stands in for Google). */
  stackCpuPercentPerDevice: number;
  /** 100 / stackCpuPercentPerDevice: real-time devices one core carries at this load. */
  devicesPerCore: number;
  turns: number;
  answered: number;
}

/** The processes a stack's CPU is summed over: the demo's services and its nats-server, or the one in-process runner. */
export const STACK_PROCESSES = ['capture', 'vad', 'session', 'playback', 'nats', 'in-process'];

/** CPU seconds of a process at time t (linear between the two samples around it). */
function cpuAt(samples: { t: number; cpu: number }[], t: number): number {
  const i = samples.findIndex((s) => s.t >= t);
  if (i <= 0) return samples[Math.max(0, i)]?.cpu ?? 0;
  const a = samples[i - 1]!;
  const b = samples[i]!;
  return a.cpu + ((b.cpu - a.cpu) * (t - a.t)) / Math.max(1e-9, b.t - a.t);
}

/**
 * CPU per device at steady state: the CPU each process spent while every device streamed,
 * over that window's length, so that start-up (model loading, connections) is left out.
 */
export function scalingPoint(run: StackRun): ScalingPoint {
  const window: [number, number] = [run.captureStartS + 2, run.captureStartS + run.inputSeconds - 0.5];
  if (!(window[1] > window[0] + 1)) throw new Error(`run too short for a steady-state window (${JSON.stringify(window)})`);
  const services = run.usage
    .filter((u) => STACK_PROCESSES.some((p) => u.name === p || u.name.startsWith(`${p}-`)))
    .map((u) => ({
      name: u.name.replace(/-\d+$/, ''),
      cpuPercentPerDevice: (((cpuAt(u.samples, window[1]) - cpuAt(u.samples, window[0])) / (window[1] - window[0])) * 100) / run.devices,
      rssMb: u.peakRssMb,
    }));
  const stack = services.reduce((a, s) => a + s.cpuPercentPerDevice, 0);
  return { devices: run.devices, window, services, stackCpuPercentPerDevice: stack, devicesPerCore: 100 / stack, turns: run.rows.length, answered: run.rows.filter((r) => r.answered).length };
}

/** Memory per device per service: the RSS slope between the smallest and the largest run. */
export function memoryPerDevice(points: ScalingPoint[]): Record<string, number> {
  const first = points[0]!;
  const last = points.at(-1)!;
  const out: Record<string, number> = {};
  for (const s of last.services) {
    const base = first.services.find((x) => x.name === s.name);
    if (base && last.devices > first.devices) out[s.name] = (s.rssMb - base.rssMb) / (last.devices - first.devices);
  }
  return out;
}
