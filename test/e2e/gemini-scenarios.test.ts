import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoSlots, expectAnswersPlayedWhole, FIXTURES, fixtureTruth, readHistory, readTurns, runDemo, simLog, type DemoRun } from '../support/run-demo.ts';

/**
 * One scripted scenario per way the real Gemini Live has hurt voice agents (issue #15): the
 * demo as a user runs it, the realistic simulator firing a fault at a moment of the
 * conversation (`--sim-fault`). Each asserts that every user turn is answered exactly once,
 * that the answers' audio reached the speaker whole (no chunk twice, none lost), that the run
 * ended by itself and that its exit code says so.
 *
 * A restarted session (the greeting once per conversation) is in devices-and-faults.test.ts.
 * The scenarios do not time anything, so they run three at a time (each demo is its own
 * process tree with its own NATS and simulator).
 */
/** Two turns with room for each answer; no room for a greeting, so these run without one. */
const FIXTURE = 'two-turns';
const GREETING = /^Hello! I am/;


/**
 * `continued`: turns the user spoke before any answer came, answered together with the next
 * one (the model hears them as one turn); how many of them the scenario expects.
 */
function expectEveryTurnAnsweredOnce(run: DemoRun, { continued = 0, heardSlackS = 0 } = {}): void {
  const log = run.lines.join('\n');
  // No hang: the run ended because everything was said and heard, not at its time limit.
  expect(log).toContain('every input ended and every answer was played');
  expect(run.code, log).toBe(0);
  expect(run.violations).toEqual([]);

  const truth = fixtureTruth(FIXTURE);
  const rows = readTurns(run.out);
  expect(rows, log).toHaveLength(truth.turns);
  expect(rows.filter((r) => r.dropped === 'continued'), 'turns answered with the next one').toHaveLength(continued);
  rows.forEach((r, i) => {
    if (r.dropped === 'continued') {
      expect(r.answered, `${r.turnId} has no answer of its own`).toBe(false);
      expect(rows[i + 1], `${r.turnId} is continued by a later turn`).toBeDefined();
      return;
    }
    expect(r.answered, `${r.turnId} answered`).toBe(true);
    expect(r.interrupted, `${r.turnId} interrupted`).toBe(false);
    expect(Number.isFinite(r.voiceToVoiceMs), `${r.turnId} latency`).toBe(true);
  });

  // Exactly once: one answer per user turn in what was heard, none twice.
  const heard = readHistory(run.out).filter((h) => h.role === 'assistant');
  const answers = heard.filter((h) => !GREETING.test(h.text));
  expect(heard.filter((h) => GREETING.test(h.text)), 'no greeting').toHaveLength(0);
  expect(answers.map((a) => a.text), 'answers heard').toHaveLength(truth.turns - continued);
  expect(new Set(answers.map((a) => a.text)).size).toBe(answers.length);

  // Nothing the user said was lost on the way: the model says how long it heard the user
  // speak, at least what the fixture holds (the pre-roll and the end-of-turn silence add to it;
  // with server detection it is the model's own measure: `heardSlackS`).
  let spoke = 0;
  let answer = 0;
  rows.forEach((r, i) => {
    const segs = truth.segments.filter((s) => s.turn === i + 1);
    spoke += (segs.at(-1)!.endMs - segs[0]!.startMs) / 1000;
    if (r.dropped === 'continued') return;
    const heardS = Number(/You spoke for ([\d.]+) seconds/.exec(answers[answer++]?.text ?? '')?.[1]);
    expect(heardS, `the model heard all of ${r.turnId}`).toBeGreaterThanOrEqual(spoke - heardSlackS);
    spoke = 0;
  });

  expectAnswersPlayedWhole(run.out);
}

function firedFaults(run: DemoRun): Record<string, unknown>[] {
  return simLog(run.out).filter((e) => e.event === 'fault');
}

const slots = demoSlots(3);

const scenario = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  slots(() => runDemo(['--input', join(FIXTURES, `${FIXTURE}.wav`), '--timeout-s', '120', ...args], { env }));

describe.concurrent('Gemini Live faults, one scenario each: every turn answered once, whole, no hang', () => {
  it.each([
    ['a goAway with 200 ms left in the middle of a user turn', 'goaway@speech1+1000:timeLeftMs=200'],
    ['a goAway with 2 s left in the middle of a user turn', 'goaway@speech1+1000:timeLeftMs=2000'],
    ['a dropped socket in the middle of a user turn', 'drop@speech1+1000'],
    ['a 1011 close in the middle of a user turn', 'close@speech1+1000:code=1011'],
    ['a goAway with 200 ms left in the middle of the second user turn', 'goaway@speech2+800:timeLeftMs=200'],
  ])('%s', async (_name, fault) => {
    const run = await scenario(['--no-greeting', '--sim-fault', fault]);
    expect(firedFaults(run), 'the fault fired').toHaveLength(1);
    expectEveryTurnAnsweredOnce(run);
  }, 150_000);

  it('a model that stalls for 20 s while the user keeps talking: the watchdog notices, the turns are answered', async () => {
    // The watchdog is shortened so that the stall outlasts it, but not so much that it fires
    // before the second turn: both turns are owed when it does.
    const run = await scenario(['--no-greeting', '--sim-fault', 'stall@speech1+1000:ms=20000'], { WATCHDOG_MS: '8000' });
    expect(firedFaults(run)).toHaveLength(1);
    expect(readFileSync(join(run.out, 'logs', 'session.log'), 'utf8')).toContain('Gemini stopped answering: reconnecting');
    // The user's second turn began before any answer to the first: one answer answers both,
    // and it heard all of both (the first turn's audio is sent again with the second).
    expectEveryTurnAnsweredOnce(run, { continued: 1 });
  }, 150_000);

  it('server turn detection: Gemini ends the turns, each is answered once with its latency', async () => {
    const run = await scenario(['--no-greeting', '--turn-detection', 'server']);
    // The simulator's detector commits speech in 10 ms frames and says it to a tenth of a second.
    expectEveryTurnAnsweredOnce(run, { heardSlackS: 0.2 });
  }, 150_000);
});
