// ./voicebus faults: the whole fault matrix (every fault at every moment), a demo run per cell,
// three at a time; a table of what held, and exit 1 if a cell did not.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { permissionViolations } from '../support/run-demo.ts';
import { ALL_CELLS, cellName, check, FAULTS, MOMENTS, runCells, type Cell, type CellResult, type Fault, type Moment } from './fault-matrix.ts';

function recheck(file: string): CellResult[] {
  const { results } = JSON.parse(readFileSync(file, 'utf8')) as { results: CellResult[] };
  return results.map((r) => ({ ...r, ...check({ code: r.code, out: r.out, violations: permissionViolations(r.out) }, r.firedAtMs, undefined) }));
}

const USAGE = `usage: ./voicebus faults [--cells FAULT@MOMENT,...] [--parallel N] [--out DIR] [--recheck results.json]
  --cells     the cells to run (default: all; faults: ${Object.keys(FAULTS).join(', ')}; moments: ${Object.keys(MOMENTS).join(', ')})
  --parallel  demo runs at once (default 3)
  --out       where results.json and each cell's output go (default out/faults)
  --recheck   check the cells of an earlier results.json again, without running them`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        cells: { type: 'string' },
        parallel: { type: 'string', default: '3' },
        out: { type: 'string', default: 'out/faults' },
        // Checks the cells of an earlier results.json again (their outputs kept), without running them.
        recheck: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`faults: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const values = parseOptions();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function parseCells(raw: string | undefined): Cell[] {
  if (!raw) return ALL_CELLS;
  return raw.split(',').filter(Boolean).map((spec) => {
    const [fault, moment] = spec.split('@') as [Fault, Moment | undefined];
    if (!(fault in FAULTS) || !moment || !(moment in MOMENTS)) {
      throw new Error(`--cells: ${JSON.stringify(spec)} is not FAULT@MOMENT (faults: ${Object.keys(FAULTS).join(', ')}; moments: ${Object.keys(MOMENTS).join(', ')})`);
    }
    return { fault, moment };
  });
}

async function main(): Promise<void> {
  const cells = parseCells(values.cells);
  const parallel = Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error('--parallel: a whole number of at least 1');
  console.log(`fault matrix: ${cells.length} cells, ${parallel} at a time`);
  const started = Date.now();
  const results = values.recheck ? recheck(values.recheck) : await runCells(cells, parallel, (r) => console.log(`${r.failures.length === 0 ? 'held  ' : 'FAILED'} ${cellName(r).padEnd(34)} ${r.answered}/${r.turns} turns answered, ${r.answers} answers, ${r.seconds.toFixed(0)} s${r.failures.length ? `\n         ${r.failures.join('\n         ')}\n         (${r.out})` : ''}`));
  const moments = Object.keys(MOMENTS) as Moment[];
  const faults = [...new Set(cells.map((c) => c.fault))];
  const mark = (f: Fault, m: Moment) => {
    const r = results.find((x) => x.fault === f && x.moment === m);
    return r ? (r.failures.length === 0 ? 'held' : `**failed** (${r.answered}/${r.turns})`) : '–';
  };
  const table = [`| fault | ${moments.join(' | ')} |`, `|---|${moments.map(() => '---').join('|')}|`, ...faults.map((f) => `| ${FAULTS[f].what} | ${moments.map((m) => mark(f, m)).join(' | ')} |`)].join('\n');
  console.log(`\n${table}\n\n${results.filter((r) => r.failures.length === 0).length}/${results.length} cells held in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const dir = resolve(values.out!);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
  process.exit(results.every((r) => r.failures.length === 0) ? 0 : 1);
}

main().catch((err) => {
  console.error(`faults: ${(err as Error).message}`);
  process.exit(2);
});
