import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { benchBusHop, type BusHopResult } from './bus-hop.ts';
import { machineInfo } from './machine.ts';
import { fmtSpread } from './stats.ts';
import { renderBenchmarksMd } from './report.ts';
import { benchBatching, benchEngineSpeed, benchVadCapacity } from './vad-capacity.ts';
import { benchVadAccuracy } from './vad-accuracy.ts';
import { benchFailover } from './failover.ts';
import { benchLatency, quantile } from './latency.ts';
import { memoryPerDevice, pipelineOverhead, runStack, scalingPoint, type ScalingPoint } from './stack-runs.ts';

export const BENCH_ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(BENCH_ROOT, 'results');

const program = new Command('voicebus bench')
  .description('Runs the benchmarks, prints a table, writes bench/results/<date>-<suite>.json and regenerates BENCHMARKS.md')
  .option('--quick', 'short runs (under 2 minutes in all)')
  .option('--only <names>', 'comma-separated subset: bus-hop, vad, pipeline, scaling, failover, latency');

const opts = program.parse().opts<{ quick?: boolean; only?: string }>();
const only = new Set((opts.only ?? '').split(',').filter(Boolean));
const wanted = (name: string) => only.size === 0 || only.has(name);
const quick = Boolean(opts.quick);
mkdirSync(RESULTS, { recursive: true });

/** One failing suite is reported and the others still run and land in BENCHMARKS.md. */
async function suite(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    process.exitCode = 1;
    console.error(`\nbenchmark ${name} failed: ${(err as Error).message}`);
  }
}

function save(suite: string, data: unknown): void {
  const machine = machineInfo();
  const file = join(RESULTS, `${machine.date.replace(/[:.]/g, '-')}-${suite}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify({ suite, quick, machine, data }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

if (wanted('bus-hop')) await suite('bus-hop', async () => {
  // The full run goes past 100 devices to find where one NATS server and one receiver bend.
  const levels = quick ? [1, 10, 50, 100] : [1, 10, 50, 100, 200, 400];
  const results: BusHopResult[] = await benchBusHop(levels, quick ? 2 : 8, quick ? 3 : 5);
  console.log('\nbus hop: capture publish -> VAD actor receipt, 20 ms chunks in real time (µs, median of runs, min-max)');
  console.log('devices  nats p50            nats p99            nats p99.9          in-process p99      p99 ratio');
  for (const r of results) {
    console.log(`${String(r.devices).padStart(7)}  ${fmtSpread(r.natsP50Us, 0).padEnd(18)}  ${fmtSpread(r.natsP99Us, 0).padEnd(18)}  ${fmtSpread(r.natsP999Us, 0).padEnd(18)}  ${fmtSpread(r.inProcessP99Us, 0).padEnd(18)}  ${fmtSpread(r.p99Ratio, 1)}`);
  }
  save('bus-hop', results);
});

if (wanted('vad')) await suite('vad', async () => {
  const engines = ['silero-v5', 'silero-v6', 'silero-legacy', 'energy'] as const;
  const speed = await benchEngineSpeed([...engines], quick ? 1 : 3, quick ? 3 : 5);
  const accuracy = await benchVadAccuracy([...engines]);
  const batching = await benchBatching(quick ? [1, 8, 32] : [1, 4, 8, 16, 32, 64], quick ? 1 : 2, 3);
  const capacity = await benchVadCapacity('silero-v6', quick ? [25, 50, 100, 150] : [25, 50, 100, 150, 200, 250, 300, 400], quick ? 3 : 8);
  console.log('\nVAD engines (one core)');
  console.log('engine          frames/s             x real time    turns ok  start err  end err  max err  confirm  onset');
  for (const a of accuracy) {
    const sp = speed.find((x) => x.engine === a.engine)!;
    console.log(`${a.engine.padEnd(14)}  ${fmtSpread(sp.framesPerSecond, 0).padEnd(20)} ${sp.realtimeFactor.median.toFixed(0).padStart(8)}   ${`${a.turnCountCorrect}/${a.fixtures}`.padStart(8)}  ${a.startErrorMs.toFixed(0).padStart(9)}  ${a.endErrorMs.toFixed(0).padStart(7)}  ${a.maxBoundaryErrorMs.toFixed(0).padStart(7)}  ${a.startDecisionMs.toFixed(0).padStart(7)}  ${a.onsetDelayMs.toFixed(0).padStart(5)}`);
  }
  console.log('batching (silero-v5): ' + batching.map((b) => `batch ${b.batch}: ${b.framesPerSecond.median.toFixed(0)} frames/s`).join(', '));
  console.log(`capacity (silero-v6, one process): ${capacity.capacity} real-time devices with p99 < 10 ms; ` + capacity.points.map((p) => `${p.devices}: p99 ${p.p99Ms.toFixed(2)} ms`).join(', '));
  save('vad', { speed, accuracy, batching, capacity });
});

if (wanted('pipeline')) await suite('pipeline', async () => {
  const levels = quick ? [1, 5] : [1, 20];
  const input = quick ? 'three-turns-2s' : 'conversation';
  const results = [];
  for (const devices of levels) {
    const run = await runStack(devices, input);
    const o = pipelineOverhead(run);
    results.push(o);
    console.log(`\npipeline overhead, ${devices} device(s), model delay 0 (ms, p50 / p95 / p99, n=${o.stackOverhead.n})`);
    for (const [k, v] of Object.entries(o)) if (typeof v === 'object') console.log(`  ${k.padEnd(26)} ${v.p50.toFixed(1).padStart(7)} ${v.p95.toFixed(1).padStart(7)} ${v.p99.toFixed(1).padStart(7)}`);
  }
  save('pipeline', results);
});

if (wanted('scaling')) await suite('scaling', async () => {
  const levels = quick ? [1, 10] : [1, 10, 50, 100];
  const points: ScalingPoint[] = [];
  for (const devices of levels) {
    const run = await runStack(devices, 'single-fast', ['--timeout-s', '60']);
    points.push(scalingPoint(run));
    console.log(`\nscaling, ${devices} device(s): ` + points.at(-1)!.services.map((s) => `${s.name} ${s.cpuPercentPerDevice.toFixed(2)} %CPU/device, ${s.rssMb.toFixed(0)} MB`).join('; '));
  }
  const perDevice = memoryPerDevice(points);
  console.log('memory per device (MB): ' + Object.entries(perDevice).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '));
  save('scaling', { points, memoryPerDeviceMb: perDevice });
});

if (wanted('failover')) await suite('failover', async () => {
  const runs = [];
  for (let i = 0; i < (quick ? 1 : 3); i++) runs.push(await benchFailover(10));
  for (const r of runs) console.log(`\nfailover (10 devices, 2 vad + 2 session, kill -9 vad-1): ${r.moved} devices moved, ${r.failoverMs.median.toFixed(0)} ms median (${r.failoverMs.min.toFixed(0)}–${r.failoverMs.max.toFixed(0)}); split vad ${r.split.vad!.join('/')}, session ${r.split.session!.join('/')}`);
  save('failover', runs);
});

if (wanted('latency')) await suite('latency', async () => {
  // Each run is one 44 s conversation: the quick run does one per mode.
  const results = await benchLatency(['fixed', 'adaptive', 'speculative'], quick ? 1 : 3);
  console.log('\nvoice-to-voice on the audio (noisy conversation, model 600 ms): ms, p50 / p95 / worst, n turns');
  for (const r of results) {
    const measured = r.turns.map((t) => t.measuredMs);
    const diff = r.turns.map((t) => t.reportedMs - t.measuredMs);
    const stack = r.turns.map((t) => t.measuredMs - t.modelMs);
    console.log(`  ${r.endpointing.padEnd(12)} measured ${quantile(measured, 0.5).toFixed(0)} / ${quantile(measured, 0.95).toFixed(0)}, minus model p50 ${quantile(stack, 0.5).toFixed(0)}, reported - measured p50 ${quantile(diff, 0.5).toFixed(1)} worst ${Math.max(...diff.map(Math.abs)).toFixed(1)}, turns ${r.turnsFound}/${r.turnsExpected}, withdrawn ${r.withdrawn}, n=${r.turns.length}`);
  }
  save('latency', results);
});

renderBenchmarksMd(RESULTS, join(BENCH_ROOT, '..', 'BENCHMARKS.md'));
