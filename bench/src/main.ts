import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { benchBusHop, type BusHopResult } from './bus-hop.ts';
import { machineInfo } from './machine.ts';
import { fmtSpread, fmtValue } from './stats.ts';
import { renderBenchmarksMd } from './report.ts';
import { benchBatching, benchVadCapacity } from './vad-capacity.ts';
import { benchVadCompare } from './vad-compare.ts';
import { noisyWavPath } from './noisy-fixtures.ts';
import { benchFailover } from './failover.ts';
import { benchLatency, summarizeLatency } from './latency.ts';
import { memoryPerDevice, pipelineOverhead, runStack, scalingPoint, type ScalingPoint, type StackMode } from './stack-runs.ts';
import { spread } from './stats.ts';

export const BENCH_ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(BENCH_ROOT, 'results');

const program = new Command('voicebus bench')
  .description('Runs the benchmarks, prints a table, writes bench/results/<date>-<suite>.json and regenerates BENCHMARKS.md')
  .option('--quick', 'short runs (about 2 minutes in all on 2 cores; latency and pipeline only when named)')
  .option('--only <names>', 'comma-separated subset: bus-hop, vad, pipeline, bus-cost, scaling, failover, latency')
  .argument('[names...]', 'the same subset as --only, as arguments');

program.parse();
const opts = program.opts<{ quick?: boolean; only?: string }>();
const only = new Set([...(opts.only ?? '').split(','), ...program.args].filter(Boolean));
const wanted = (name: string) => only.size === 0 || only.has(name);
const quick = Boolean(opts.quick);
mkdirSync(RESULTS, { recursive: true });

/** One failing suite is reported and the others still run and land in BENCHMARKS.md. */
async function suite(name: string, fn: () => Promise<void>): Promise<void> {
  const start = performance.now();
  try {
    await fn();
  } catch (err) {
    process.exitCode = 1;
    console.error(`\nbenchmark ${name} failed: ${(err as Error).message}`);
  }
  console.log(`(${name}: ${((performance.now() - start) / 1000).toFixed(0)} s)`);
}

function save(suite: string, data: unknown): void {
  const machine = machineInfo();
  const file = join(RESULTS, `${machine.date.replace(/[:.]/g, '-')}-${suite}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify({ suite, quick, machine, data }, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
  console.log(`wrote ${file}`);
}

const t0 = performance.now();

if (wanted('bus-hop')) await suite('bus-hop', async () => {
  // The full run goes past 200 devices to find where one NATS server and one receiver bend.
  // Runs are long enough that every p99 rests on >= 500 chunks (p99.9 is shown only past 5000),
  // so the full run starts at 10 devices (1 device for 4 s would be 200 chunks).
  const levels = quick ? [10, 200] : [10, 50, 100, 200, 400];
  const seconds = quick ? 1.5 : 4;
  const results: BusHopResult[] = await benchBusHop(levels, seconds, quick ? 2 : 4);
  console.log('\nbus hop: capture publish -> VAD actor receipt, 20 ms chunks in real time (µs, median of runs, min-max; lost chunks count as infinitely late)');
  console.log('devices  chunks/run  lost  nats p50            nats p99            nats p99.9          in-process p99      p99 ratio');
  for (const r of results) {
    console.log(`${String(r.devices).padStart(7)}  ${String(r.chunksPerRun).padStart(10)}  ${String(r.lost.reduce((a, b) => a + b, 0)).padStart(4)}  ${fmtSpread(r.natsP50Us, 0).padEnd(18)}  ${fmtSpread(r.natsP99Us, 0).padEnd(18)}  ${fmtSpread(r.natsP999Us, 0).padEnd(18)}  ${fmtSpread(r.inProcessP99Us, 0).padEnd(18)}  ${fmtSpread(r.p99Ratio, 1)}`);
  }
  save('bus-hop', results);
});

if (wanted('vad')) await suite('vad', async () => {
  // Each engine and peer in its own process, on the same audio; the batched engine with 64
  // devices at once (batching is for many devices), everything else one stream.
  const keys = [
    { key: 'silero-v6+batch', streams: 64 },
    { key: 'silero-v6', streams: 1 },
    { key: 'silero-v5', streams: 1 },
    ...(quick ? [] : [{ key: 'silero-legacy', streams: 1 }, { key: 'energy', streams: 1 }]),
    { key: 'livekit', streams: 1 },
    { key: 'vad-node', streams: 1 },
  ];
  const compare = await benchVadCompare(keys, quick ? 1 : 3, quick ? 1 : 3);
  const batching = await benchBatching(quick ? [1, 16, 64] : [1, 4, 8, 16, 32, 64], quick ? 0.5 : 2, quick ? 1 : 3);
  // The model on a worker thread (opt-in: --inference-thread worker) beside the same batcher on the main
  // thread and a call per frame, each searched from its starting levels down and up.
  const search = { refineSteps: quick ? 1 : 2 };
  const capacity = [
    await benchVadCapacity('silero-v6', 'batched-worker', quick ? [300, 500] : [200, 300, 400, 500, 600, 800], quick ? 2 : 5, quick ? 1 : 2, search),
    await benchVadCapacity('silero-v6', 'batched-main', quick ? [300, 500] : [200, 300, 400, 500, 600, 800], quick ? 2 : 5, quick ? 1 : 2, search),
    await benchVadCapacity('silero-v6', 'unbatched', quick ? [100, 200] : [100, 150, 200, 250, 300, 400], quick ? 2 : 5, quick ? 1 : 2, search),
  ];
  console.log('\nVAD engines and peers (each alone in a process; frames per CPU second on the noisy conversation; errors vs truth on the clean / noisy fixtures)');
  console.log('engine                           streams  frames/CPU-s          turns ok (clean/noisy)  start err  end err  max err (clean / noisy)');
  for (const e of compare) {
    console.log(`${e.name.padEnd(32)} ${String(e.streams).padStart(7)}  ${fmtSpread(e.framesPerCpuSecond, 0).padEnd(20)}  ${`${e.clean.countsRight}/${e.clean.fixtures} / ${e.noisy.countsRight}/${e.noisy.fixtures}`.padEnd(22)}  ${fmtValue(e.clean.startErrorMs, 0)} / ${fmtValue(e.noisy.startErrorMs, 0)}  ${fmtValue(e.clean.endErrorMs, 0)} / ${fmtValue(e.noisy.endErrorMs, 0)}  ${fmtValue(e.clean.maxErrorMs, 0)} / ${fmtValue(e.noisy.maxErrorMs, 0)}`);
  }
  console.log('batching (silero-v6, raw calls): ' + batching.map((b) => `batch ${b.batch}: ${b.framesPerSecond.median.toFixed(0)} frames/s`).join(', '));
  for (const c of capacity) {
    console.log(`capacity (${c.engine} ${c.mode}, one process, noisy input, ${(c.inferredShare * 100).toFixed(0)}% of frames inferred): ${c.capacity} real-time devices with p99 < 10 ms (${c.streamsPerCore.toFixed(0)} per core used); ` +
      c.points.map((p) => `${p.devices}: p99 ${fmtSpread(p.p99Ms, 2)} ms n=${p.n} cpu ${p.cpuShare.median.toFixed(2)} batch ${p.meanBatch.toFixed(1)}`).join('; '));
  }
  save('vad', { compare, batching, capacity });
});

// The quick run's bus-cost measures the same stack the same way (its `nats` row), so the quick
// run leaves the pipeline suite out unless it is named.
if (only.has('pipeline') || (!quick && wanted('pipeline'))) await suite('pipeline', async () => {
  // The noisy conversation (four turns per device), repeated runs pooled: n is printed beside
  // every percentile, and a percentile with too few turns under it is left out.
  const plan = quick ? [{ devices: 10, runs: 1 }] : [{ devices: 1, runs: 2 }, { devices: 20, runs: 2 }];
  const input = noisyWavPath(quick ? 'three-turns-2s' : 'conversation');
  const results = [];
  for (const { devices, runs } of plan) {
    const stackRuns = [];
    for (let i = 0; i < runs; i++) stackRuns.push(await runStack(devices, input));
    const o = pipelineOverhead(stackRuns);
    results.push(o);
    console.log(`\npipeline overhead, ${devices} device(s) × ${runs} run(s), model delay 0, speech cache off (ms, p50 / p95 / p99 / max, n=${o.stackOverhead.n} answered of ${o.turns})`);
    for (const [k, v] of Object.entries(o)) if (typeof v === 'object') console.log(`  ${k.padEnd(26)} ${fmtValue(v.p50).padStart(7)} ${fmtValue(v.p95).padStart(7)} ${fmtValue(v.p99).padStart(7)} ${fmtValue(v.max).padStart(7)}`);
  }
  save('pipeline', results);
});

if (wanted('bus-cost')) await suite('bus-cost', async () => {
  // The same services and audio three ways, runs interleaved so that the machine's load falls on
  // each alike: as shipped on NATS, on NATS with leases and histories off, in one process with no
  // server. What the bus costs end to end is the difference, as a ratio within one run.
  const modes: StackMode[] = quick ? ['nats', 'in-process'] : ['nats', 'nats-core', 'in-process'];
  const plan = quick ? [{ devices: 10, runs: 1 }] : [{ devices: 20, runs: 2 }, { devices: 50, runs: 1 }];
  const input = noisyWavPath(quick ? 'three-turns-2s' : 'conversation');
  const levels = [];
  for (const { devices, runs } of plan) {
    const byMode = new Map<StackMode, Awaited<ReturnType<typeof runStack>>[]>(modes.map((m) => [m, []]));
    for (let i = 0; i < runs; i++) for (const mode of modes) byMode.get(mode)!.push(await runStack(devices, input, ['--timeout-s', '180'], mode));
    const level = {
      devices,
      runs,
      modes: modes.map((mode) => {
        const stackRuns = byMode.get(mode)!;
        const points = stackRuns.map((r) => scalingPoint(r));
        const cpu = points.map((p) => p.stackCpuPercentPerDevice);
        // Where the CPU goes: each process's share, median of runs (the in-process row is one process).
        const names = [...new Set(points.flatMap((p) => p.services.map((x) => x.name)))];
        const perProcess = Object.fromEntries(names.map((n) => [n, spread(points.map((p) => p.services.filter((x) => x.name === n).reduce((a, x) => a + x.cpuPercentPerDevice, 0))).median]));
        return { mode, overhead: pipelineOverhead(stackRuns), cpuPercentPerDevice: spread(cpu), devicesPerCore: spread(cpu.map((c) => 100 / c)), perProcess };
      }),
    };
    levels.push(level);
    console.log(`
bus cost, ${devices} devices × ${runs} run(s) per mode (ms p50 / p95, n answered of turns; stack %CPU per device at steady state)`);
    for (const m of level.modes) console.log(`  ${m.mode.padEnd(11)} stack overhead ${fmtValue(m.overhead.stackOverhead.p50)} / ${fmtValue(m.overhead.stackOverhead.p95)}, voice-to-voice − silence ${fmtValue(m.overhead.voiceToVoiceMinusSilence.p50)} / ${fmtValue(m.overhead.voiceToVoiceMinusSilence.p95)}, n=${m.overhead.answered} of ${m.overhead.turns}; ${m.cpuPercentPerDevice.median.toFixed(3)} %CPU/device = ${m.devicesPerCore.median.toFixed(0)} devices per core (${Object.entries(m.perProcess).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')})`);
  }
  save('bus-cost', { input: quick ? 'three-turns-2s (noisy)' : 'conversation (noisy)', levels });
});

if (wanted('scaling')) await suite('scaling', async () => {
  const levels = quick ? [50] : [10, 50, 100];
  const input = noisyWavPath(quick ? 'three-turns-2s' : 'conversation');
  const points: ScalingPoint[] = [];
  // A level whose demo run fails (turns unanswered, leases lost) is reported as failed; the
  // levels measured before it still count.
  const failed: { devices: number; error: string }[] = [];
  for (const devices of levels) {
    let run;
    try {
      run = await runStack(devices, input, ['--timeout-s', '120']);
    } catch (err) {
      failed.push({ devices, error: (err as Error).message });
      console.log(`\nscaling, ${devices} device(s): failed: ${(err as Error).message}`);
      break;
    }
    points.push(scalingPoint(run));
    const p = points.at(-1)!;
    console.log(`\nscaling, ${devices} device(s), steady state ${p.window.map((x) => x.toFixed(1)).join('–')} s: ` + p.services.map((s) => `${s.name} ${s.cpuPercentPerDevice.toFixed(3)} %CPU/device, ${s.rssMb.toFixed(0)} MB`).join('; ') + `; stack ${p.stackCpuPercentPerDevice.toFixed(3)} %CPU/device = ${p.devicesPerCore.toFixed(0)} devices per core; ${p.answered}/${p.turns} turns answered`);
  }
  const perDevice = points.length > 1 ? memoryPerDevice(points) : {};
  if (points.length > 1) console.log('memory per device (MB): ' + Object.entries(perDevice).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '));
  save('scaling', { input: quick ? 'three-turns-2s (noisy)' : 'conversation (noisy)', points, memoryPerDeviceMb: perDevice, failed });
  if (failed.length) process.exitCode = 1;
});

if (wanted('failover')) await suite('failover', async () => {
  const runs = [];
  for (let i = 0; i < (quick ? 1 : 3); i++) runs.push(await benchFailover(10, quick ? 'two-turns' : undefined));
  for (const r of runs) console.log(`\nfailover (10 devices, 2 vad + 2 session, kill -9 vad-1): ${r.moved} devices moved, ${r.failoverMs.median.toFixed(0)} ms median (${r.failoverMs.min.toFixed(0)}–${r.failoverMs.max.toFixed(0)}); split vad ${r.split.vad!.join('/')}, session ${r.split.session!.join('/')}`);
  save('failover', runs);
});

// Each run is one 44 s conversation, so the quick run leaves it out unless it is named.
if (only.has('latency') || (!quick && wanted('latency'))) await suite('latency', async () => {
  const results = await benchLatency(['fixed', 'adaptive', 'speculative'], quick ? 1 : 3);
  console.log('\nvoice-to-voice on the audio (noisy conversation, model 600 ms): ms, n turns');
  for (const r of results) {
    const s = summarizeLatency(r);
    console.log(`  ${r.endpointing.padEnd(12)} measured p50 ${s.measured.p50.toFixed(0)}, max ${s.measured.max.toFixed(0)}, minus model p50 ${s.withoutModel.p50.toFixed(0)}, reported - measured p50 ${s.reportedMinusMeasuredMedian.toFixed(1)} worst ${s.reportedMinusMeasuredWorst.toFixed(1)}, turns ${r.turnsFound}/${r.turnsExpected}, withdrawn ${r.withdrawn}, n=${s.measured.n}`);
  }
  save('latency', results);
});

console.log(`\nbench ${quick ? '--quick ' : ''}took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
renderBenchmarksMd(RESULTS, join(BENCH_ROOT, '..', 'BENCHMARKS.md'));
