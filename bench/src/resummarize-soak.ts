import { readFileSync, writeFileSync } from 'node:fs';
import { memorySamples, summarize, type SoakResult } from './soak.ts';
import { renderSoak } from './soak-report.ts';
const [file, logs, out] = process.argv.slice(2) as [string, string, string];
const record = JSON.parse(readFileSync(file, 'utf8')) as { machine: never; at: string; result: SoakResult };
const r = record.result;
const t0 = Date.parse(record.at) - r.wallSeconds * 1000;
const warmupS = r.options.warmupMinutes * 60;
r.services = r.services.map((s) => {
  let mem: ReturnType<typeof memorySamples> = [];
  try { mem = memorySamples(readFileSync(`${logs}/${s.name}.log`, 'utf8'), t0); } catch {}
  return summarize(s.name, s.samples.filter((x) => x.rssMb > 0), warmupS, mem);
});
r.n = Math.min(...r.services.map((s) => s.samples.filter((x) => x.t >= warmupS).length));
writeFileSync(out, JSON.stringify(record, null, 1));
console.log(renderSoak(record));
