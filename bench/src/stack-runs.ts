import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import hdr from 'hdr-histogram-js';

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
}

export interface StackRun {
  devices: number;
  rows: Row[];
  wallSeconds: number;
  usage: ProcessUsage[];
}

function readProc(pid: number): { cpu: number; rssKb: number } | undefined {
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

/** Runs the demo with N devices and the simulator's model delay at zero, sampling each service's CPU and memory. */
export async function runStack(devices: number, input: string, extra: string[] = []): Promise<StackRun> {
  const out = mkdtempSync(join(tmpdir(), 'voicebus-bench-'));
  const child = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', '--no-greeting', '--shared-capture',
    '--model-delay-ms', '0', '--devices', String(devices), '--input', join(FIXTURES, `${input}.wav`), ...extra], {
    env: { ...process.env, CI: 'true', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pids = new Map<string, number>();
  const usage = new Map<string, ProcessUsage>();
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const m of buf.matchAll(/\[demo\] started ([\w-]+) \(pid (\d+)\)/g)) pids.set(m[1]!, Number(m[2]));
  });
  child.stderr.on('data', () => {});
  const t0 = performance.now();
  const sampler = setInterval(() => {
    for (const [name, pid] of pids) {
      const p = readProc(pid);
      if (!p) continue;
      const u = usage.get(name) ?? { name, cpuSeconds: 0, peakRssMb: 0 };
      u.cpuSeconds = Math.max(u.cpuSeconds, p.cpu);
      u.peakRssMb = Math.max(u.peakRssMb, p.rssKb / 1024);
      usage.set(name, u);
    }
  }, 250);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`demo run with ${devices} devices failed (code ${code}); see ${out}/logs`);
  const rows: Row[] = [];
  for (const dir of readdirSync(out)) {
    const f = join(out, dir, 'turns.jsonl');
    if (existsSync(f)) rows.push(...readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row));
  }
  return { devices, rows, wallSeconds: (performance.now() - t0) / 1000, usage: [...usage.values()] };
}

export interface StageStats {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

export function stageStats(values: number[]): StageStats {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (const v of values) h.recordValue(Math.max(1, Math.round(v * 1000)));
  return { p50: h.getValueAtPercentile(50) / 1000, p95: h.getValueAtPercentile(95) / 1000, p99: h.getValueAtPercentile(99) / 1000, n: values.length };
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

export function pipelineOverhead(run: StackRun, endOfTurnSilenceMs = 700): PipelineOverhead {
  const rows = run.rows.filter((r) => r.answered);
  return {
    devices: run.devices,
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
  services: { name: string; cpuPercentPerDevice: number; rssMb: number }[];
}

export function scalingPoint(run: StackRun): ScalingPoint {
  return {
    devices: run.devices,
    services: run.usage
      .filter((u) => ['vad', 'session', 'playback', 'capture'].includes(u.name))
      .map((u) => ({ name: u.name, cpuPercentPerDevice: ((u.cpuSeconds / run.wallSeconds) * 100) / run.devices, rssMb: u.peakRssMb })),
  };
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
