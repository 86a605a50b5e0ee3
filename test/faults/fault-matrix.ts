import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unansweredTurns } from '../../demo/src/conversation-monitor.ts';
import { demoSlots, FIXTURES, fixtureTruth, readHistory, readTurns, runDemo, type DemoRun } from '../support/run-demo.ts';

/**
 * The fault matrix: each fault at each moment of a two-turn conversation, one demo run per cell.
 * A moment is found in the demo's own output (what a person watching it sees), a fault is done
 * to the running stack from outside: the simulator's control API for the model's faults, a
 * signal for a process's. Every cell must end the same way as a run without faults.
 */
export const MOMENTS = {
  /** 600 ms after the user's first turn was confirmed: the turn is in progress. */
  'user-turn': { line: /^dev1: user speaking$/, afterMs: 600 },
  /** 300 ms into the first answer's playback. */
  answer: { line: /^dev1: assistant speaking$/, afterMs: 300 },
  /** 300 ms after the first turn's row (its answer was played): the user has not started again. */
  'between-turns': { line: /^dev1: turn \S+ .* voice-to-voice/, afterMs: 300 },
} as const;

export type Moment = keyof typeof MOMENTS;

interface FaultContext {
  /** The simulator's control API (`POST /sessions/latest/<action>`). */
  sim: string;
  /** The newest pid the demo reported for a process (`[demo] started NAME (pid N)`). */
  pidOf(name: RegExp): number;
  /** Of the processes named so, the one whose log says last that it acquired the device (`logs/NAME.log`). */
  ownerOf(name: RegExp, deviceId: string): string;
}

interface FaultSpec {
  what: string;
  /** Extra demo flags and environment for the run. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  act(ctx: FaultContext): Promise<void>;
}

async function simAction(ctx: FaultContext, action: string): Promise<void> {
  const res = await fetch(`${ctx.sim}/sessions/latest/${action}`, { method: 'POST' });
  if (!res.ok) throw new Error(`simulator ${action}: ${res.status} ${await res.text()}`);
}

const kill = (name: RegExp) => async (ctx: FaultContext) => void process.kill(ctx.pidOf(name), 'SIGKILL');

export const FAULTS = {
  goaway: { what: 'Gemini goAway with 200 ms left', act: (ctx) => simAction(ctx, 'goaway?timeLeftMs=200') },
  drop: { what: 'Gemini socket dropped', act: (ctx) => simAction(ctx, 'drop') },
  'close-1011': { what: 'Gemini closes with 1011', act: (ctx) => simAction(ctx, 'close?code=1011') },
  'stall-5s': { what: 'Gemini silent for 5 s', act: (ctx) => simAction(ctx, 'stall?ms=5000') },
  // The watchdog (shortened, as the stall test in gemini-scenarios does) gives up on it first.
  'stall-20s': { what: 'Gemini silent for 20 s', env: { WATCHDOG_MS: '8000' }, act: (ctx) => simAction(ctx, 'stall?ms=20000') },
  'kill-vad': { what: 'kill -9 of vad', act: kill(/^vad$/) },
  'kill-session': { what: 'kill -9 of session', act: kill(/^session$/) },
  'kill-playback': { what: 'kill -9 of playback', act: kill(/^playback$/) },
  'kill-vad-instance': {
    what: 'kill -9 of the one of two vad instances that owns the device',
    args: ['--instances', 'vad=2'],
    act: async (ctx) => void process.kill(ctx.pidOf(new RegExp(`^${ctx.ownerOf(/^vad-\d+$/, 'dev1')}$`)), 'SIGKILL'),
  },
  // The demo starts a nats-server that died again on its port with its store, after the delay.
  'nats-1s': { what: 'kill -9 of nats-server, back after 1 s (store kept)', args: ['--nats-restart-delay-ms', '1000'], act: kill(/^nats-server$/) },
  'nats-5s': { what: 'kill -9 of nats-server, back after 5 s (store kept)', args: ['--nats-restart-delay-ms', '5000'], act: kill(/^nats-server$/) },
  'sigstop-vad': {
    what: 'SIGSTOP of vad for 3 s (past its 1.2 s lease), then SIGCONT',
    async act(ctx) {
      const pid = ctx.pidOf(/^vad$/);
      process.kill(pid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 3000));
      process.kill(pid, 'SIGCONT');
    },
  },
} satisfies Record<string, FaultSpec>;

export type Fault = keyof typeof FAULTS;

export interface Cell {
  fault: Fault;
  moment: Moment;
}

export const ALL_CELLS: Cell[] = (Object.keys(FAULTS) as Fault[]).flatMap((fault) => (Object.keys(MOMENTS) as Moment[]).map((moment) => ({ fault, moment })));

export const FIXTURE = 'two-turns';

export interface CellResult extends Cell {
  /** When the fault was done, ms after the demo started; undefined if its moment never came. */
  firedAtMs: number | undefined;
  code: number | null;
  turns: number;
  answered: number;
  answers: number;
  /** Empty when the cell passed. */
  failures: string[];
  out: string;
  seconds: number;
}

/**
 * Runs one cell: the demo on the two-turn fixture with no greeting, the fault done once at its
 * moment, then the checks: exit 0 (finished, every spoken turn answered), one row per spoken
 * turn, each answered, one answer per turn (none twice), each answer heard its whole turn (the
 * turn in progress counts), no permission refused.
 */
export async function runCell(cell: Cell): Promise<CellResult> {
  const spec: FaultSpec = FAULTS[cell.fault];
  const moment = MOMENTS[cell.moment];
  const out = mkdtempSync(join(tmpdir(), `voicebus-fault-${cell.fault}-${cell.moment}-`));
  const started = Date.now();
  const pids = new Map<string, number>();
  let firedAtMs: number | undefined;
  let actError: string | undefined;
  let fired: Promise<void> | undefined;
  const ctx: FaultContext = {
    sim: simUrl(out),
    pidOf(name) {
      for (const [n, pid] of [...pids].reverse()) if (name.test(n)) return pid;
      throw new Error(`no process matching ${name}`);
    },
    ownerOf(name, deviceId) {
      let owner: { name: string; at: string } | undefined;
      for (const n of pids.keys()) {
        if (!name.test(n)) continue;
        const log = join(out, 'logs', `${n}.log`);
        if (!existsSync(log)) continue;
        for (const line of readFileSync(log, 'utf8').split('\n')) {
          if (!line.includes('acquired device ownership')) continue;
          let entry: { time: string; deviceId?: string };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            continue; // the line being written as the log is read
          }
          if (entry.deviceId === deviceId && (!owner || entry.time > owner.at)) owner = { name: n, at: entry.time };
        }
      }
      if (!owner) throw new Error(`no process matching ${name} says it acquired ${deviceId}`);
      return owner.name;
    },
  };
  const run: DemoRun = await runDemo(['--input', join(FIXTURES, `${FIXTURE}.wav`), '--no-greeting', '--timeout-s', '120', ...(spec.args ?? [])], {
    out,
    env: spec.env,
    onLine: (line) => {
      const proc = /^\[demo\] started (\S+) \(pid (\d+)\)/.exec(line);
      if (proc) pids.set(proc[1]!, Number(proc[2]));
      if (fired === undefined && moment.line.test(line)) {
        fired = new Promise<void>((resolve) => setTimeout(resolve, moment.afterMs)).then(async () => {
          firedAtMs = Date.now() - started;
          ctx.sim = simUrl(out);
          await spec.act(ctx);
        }).catch((err) => void (actError = (err as Error).message));
      }
    },
  });
  await fired;
  return { ...cell, ...check(run, firedAtMs, actError), out, seconds: (Date.now() - started) / 1000 };
}

function simUrl(out: string): string {
  const log = join(out, 'logs', 'gemini-sim.log');
  if (!existsSync(log)) return '';
  const first = readFileSync(log, 'utf8').split('\n')[0] ?? '';
  try {
    return (JSON.parse(first) as { url?: string }).url ?? '';
  } catch {
    return '';
  }
}

export function check(run: Pick<DemoRun, 'code' | 'out' | 'violations'>, firedAtMs: number | undefined, actError: string | undefined): Omit<CellResult, keyof Cell | 'out' | 'seconds'> {
  const failures: string[] = [];
  const truth = fixtureTruth(FIXTURE);
  const rows = existsSync(join(run.out, 'dev1', 'turns.jsonl')) ? readTurns(run.out) : [];
  const history = existsSync(join(run.out, 'dev1', 'history.jsonl')) ? readHistory(run.out) : [];
  const answers = history.filter((h) => h.role === 'assistant');
  if (firedAtMs === undefined) failures.push('the moment never came: the fault was not done');
  if (actError) failures.push(`the fault could not be done: ${actError}`);
  if (run.code !== 0) failures.push(`exit code ${run.code} (0: finished with every spoken turn answered)`);
  if (run.violations.length > 0) failures.push(`${run.violations.length} permission refusal(s) in nats-server's log`);
  // A turn the model took in with the next (continued) is answered there; it is still one spoken turn.
  if (rows.length !== truth.turns) failures.push(`${rows.length} turn rows for ${truth.turns} spoken turns`);
  const answered = rows.filter((r) => r.answered).length;
  const unanswered = unansweredTurns(rows).map((i) => rows[i]!);
  if (unanswered.length > 0) failures.push(`${unanswered.length} turn(s) unanswered: ${unanswered.map((r) => `${r.turnId} (${r.dropped ?? 'no answer'})`).join(', ')}`);
  // One answer per answered turn, by the turn it names.
  const byTurn = new Map<string, { text: string }[]>();
  for (const a of answers) byTurn.set(a.turnId ?? '', [...(byTurn.get(a.turnId ?? '') ?? []), a]);
  for (const [turnId, list] of byTurn) {
    if (list.length > 1) failures.push(`${list.length} answers to ${turnId}`);
    if (!rows.some((r) => r.turnId === turnId && r.answered)) failures.push(`an answer to ${turnId || 'no turn'}, which is not an answered turn`);
  }
  // Each answer heard all of the speech it answers: its own turn and any continued before it.
  let owed = 0;
  rows.forEach((r, i) => {
    const segs = truth.segments.filter((s) => s.turn === i + 1);
    owed += segs.length > 0 ? (segs.at(-1)!.endMs - segs[0]!.startMs) / 1000 : 0;
    if (r.dropped === 'continued') return;
    const answer = byTurn.get(r.turnId)?.[0];
    // What the simulator heard is in its answer's first sentence. An answer a stall or a lost
    // connection cut before that sentence ended (the model's text comes after its audio), or
    // with no final transcript at all, says nothing.
    const said = answer ? /You spoke for ([\d.]+) seconds/.exec(answer.text) : null;
    if (r.answered && said) {
      const heard = Number(said[1]);
      if (!(heard >= owed - 0.05)) failures.push(`the answer to ${r.turnId} heard ${heard} s of ${owed.toFixed(2)} s spoken`);
    }
    owed = 0;
  });
  return { firedAtMs, code: run.code, turns: rows.length, answered, answers: answers.length, failures };
}

/** Runs cells `parallel` at a time (each demo is seven processes; two cores take three). */
export async function runCells(cells: Cell[], parallel: number, onResult?: (r: CellResult) => void): Promise<CellResult[]> {
  const slots = demoSlots(parallel);
  const results: CellResult[] = [];
  await Promise.all(cells.map((c) => slots(() => runCell(c)).then((r) => {
    results.push(r);
    onResult?.(r);
  })));
  return results;
}

export function cellName(c: Cell): string {
  return `${c.fault} @ ${c.moment}`;
}
