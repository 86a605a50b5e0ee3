import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { benchBusHop, type BusHopResult } from './bus-hop.ts';
import { machineInfo } from './machine.ts';
import { fmtSpread } from './stats.ts';
import { renderBenchmarksMd } from './report.ts';

export const BENCH_ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(BENCH_ROOT, 'results');

const program = new Command('voicebus bench')
  .description('Runs the benchmarks, prints a table, writes bench/results/<date>-<suite>.json and regenerates BENCHMARKS.md')
  .option('--quick', 'short runs (under 2 minutes in all)')
  .option('--only <names>', 'comma-separated subset: bus-hop');

const opts = program.parse().opts<{ quick?: boolean; only?: string }>();
const only = new Set((opts.only ?? '').split(',').filter(Boolean));
const wanted = (name: string) => only.size === 0 || only.has(name);
const quick = Boolean(opts.quick);
mkdirSync(RESULTS, { recursive: true });

function save(suite: string, data: unknown): void {
  const machine = machineInfo();
  const file = join(RESULTS, `${machine.date.replace(/[:.]/g, '-')}-${suite}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify({ suite, quick, machine, data }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

if (wanted('bus-hop')) {
  const levels = [1, 10, 50, 100];
  const results: BusHopResult[] = await benchBusHop(levels, quick ? 2 : 8, quick ? 3 : 5);
  console.log('\nbus hop: capture publish -> VAD actor receipt, 20 ms chunks in real time (µs, median of runs, min-max)');
  console.log('devices  nats p50            nats p99            nats p99.9          in-process p99      p99 ratio');
  for (const r of results) {
    console.log(`${String(r.devices).padStart(7)}  ${fmtSpread(r.natsP50Us, 0).padEnd(18)}  ${fmtSpread(r.natsP99Us, 0).padEnd(18)}  ${fmtSpread(r.natsP999Us, 0).padEnd(18)}  ${fmtSpread(r.inProcessP99Us, 0).padEnd(18)}  ${fmtSpread(r.p99Ratio, 1)}`);
  }
  save('bus-hop', results);
}

renderBenchmarksMd(RESULTS, join(BENCH_ROOT, '..', 'BENCHMARKS.md'));
