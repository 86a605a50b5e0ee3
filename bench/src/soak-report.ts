import type { SoakResult } from './soak.ts';

/** The issue's target: RSS growth under 1 MB per 10 minutes per service after warm-up. */
export const SOAK_TARGET_MB_PER_10_MIN = 1;

const f = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function renderSoak(record: { machine: { node: string; cpu: string; cores: number; memoryGiB: number }; at: string; result: SoakResult }): string {
  const r = record.result;
  const m = record.machine;
  const machine = `Node ${m.node}, ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB`;
  const rows = r.services
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => `| ${s.name} | ${f(s.rssAfterWarmupMb, 0)} | ${f(s.rssEndMb, 0)} | ${f(s.rssSlopeMbPer10Min, 2)} | ${s.rssSlopeMbPer10Min < SOAK_TARGET_MB_PER_10_MIN ? 'yes' : '**no**'} | ${f(s.rssLateSlopeMbPer10Min ?? NaN, 2)} | ${f(s.heapSlopeMbPer10Min ?? NaN, 2)} | ${f(s.nativeSlopeMbPer10Min ?? NaN, 2)} | ${f(s.cpuPercent)} |`);
  return [
    '### Soak: memory and CPU over a long conversation',
    '',
    `Measured ${record.at.slice(0, 16).replace('T', ' ')} UTC${machine ? `, ${machine}` : ''}. \`./voicebus soak --devices ${r.options.devices} --minutes ${r.options.minutes}\`: ${r.options.devices} devices (one shared capture process) each speaking the noisy conversation over and over, the simulator at its default model delay. RSS and CPU time of each process every ${r.options.intervalS} s (and each service's own heap and native memory, its \`memory\` log lines); after ${r.options.warmupMinutes} min of warm-up, RSS fitted with a least-squares line (n = ${r.n} samples per service; again over the second half alone, where a leak keeps its slope and a filling allocator flattens) and CPU averaged. Turns answered: ${r.answered} of ${r.turns}; demo exit code ${r.exitCode}; wall time ${f(r.wallSeconds / 60)} min.`,
    '',
    `| process | RSS after warm-up (MB) | RSS at the end (MB) | RSS slope (MB per 10 min) | under ${SOAK_TARGET_MB_PER_10_MIN} MB / 10 min | RSS slope, second half only | of it V8 heap used | of it native (RSS − heap) | CPU (% of a core) |`,
    '|---|---:|---:|---:|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
