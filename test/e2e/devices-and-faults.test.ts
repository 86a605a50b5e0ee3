import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FuzzReport } from '../../demo/src/fuzz/fuzz-report.ts';
import { HOSTILE_KINDS } from '../../demo/src/fuzz/hostile-messages.ts';
import { FIXTURES, fixtureTruth, readHistory, readTurns, runDemo } from '../support/run-demo.ts';

/**
 * The simulator says how long it heard the user speak: each answer (the greeting, "Hello! I
 * am ...", aside) heard its turn from the pre-roll to the end-of-turn decision, no less, and
 * nothing of another. Returns the answers, in order.
 */
function expectEachTurnHeardWhole(out: string, device: string, fixture: string): { text: string }[] {
  const truth = fixtureTruth(fixture);
  const answers = readHistory(out, device).filter((h) => h.role === 'assistant' && !h.text.startsWith('Hello!'));
  expect(answers).toHaveLength(truth.turns);
  answers.forEach((a, t) => {
    const heard = Number(/You spoke for ([\d.]+) seconds/.exec(a.text)![1]);
    const segs = truth.segments.filter((s) => s.turn === t + 1);
    const spoke = (segs.at(-1)!.endMs - segs[0]!.startMs) / 1000;
    expect(heard).toBeGreaterThan(spoke);
    expect(heard).toBeLessThan(spoke + 1.6);
  });
  return answers;
}

// Two demos at once: neither measures time closely (each checks turns and answers), and each
// alone leaves a core idle much of the time.
describe.concurrent('pnpm demo: several devices; hostile messages on the bus', () => {
  it('three devices at once: each device\'s answers follow its own turns (no cross-talk)', async () => {
    const inputs = ['two-turns', 'single-weather', 'pause-300ms'];
    const run = await runDemo(['--devices', '3', '--input', inputs.map((f) => join(FIXTURES, `${f}.wav`)).join(',')]);
    expect(run.code, run.lines.join('\n')).toBe(0);
    expect(run.violations).toEqual([]);
    inputs.forEach((fixture, i) => {
      const device = `dev${i + 1}`;
      const truth = fixtureTruth(fixture);
      const rows = readTurns(run.out, device);
      expect(rows).toHaveLength(truth.turns);
      rows.forEach((r, t) => {
        const segs = truth.segments.filter((s) => s.turn === t + 1);
        expect(Math.abs(r.userStartS * 1000 - segs[0]!.startMs)).toBeLessThan(150);
        expect(r.answered).toBe(true);
      });
      // Each device hears its own: answer n follows the device's own turn n.
      expectEachTurnHeardWhole(run.out, device, fixture).forEach((a, t) => expect(a.text).toContain(`answer number ${t + 2}.`)); // the greeting was answer 1
    });
  }, 150_000);

  it('every hostile message is refused where it must be, no actor or process restarts, and the conversation is answered turn by turn', async () => {
    const run = await runDemo(['--fuzz', '150', '--input', join(FIXTURES, 'two-turns.wav')]);
    expect(run.code, run.lines.slice(-40).join('\n')).toBe(0);
    expect(run.violations).toEqual([]);
    const report = JSON.parse(readFileSync(join(run.out, 'fuzz.json'), 'utf8')) as FuzzReport;
    expect(report.failures).toEqual([]);
    // Every kind was sent, on every stream it can be made for.
    const kinds = new Set(report.sent.map((s) => s.kind));
    expect([...kinds].sort()).toEqual(Object.keys(HOSTILE_KINDS).sort());
    expect(new Set(report.sent.map((s) => s.stream)).size).toBe(8);
    // 150 a second while a 16.7 s conversation runs: well over 2000, even on a loaded machine.
    expect(report.total).toBeGreaterThan(2000);
    for (const s of report.services) {
      expect(s.mustReject, s.name).toBeGreaterThan(1000);
      expect(s.rejected, s.name).toBeGreaterThanOrEqual(s.mustReject);
      expect(s.actorRestarts, s.name).toBe(0);
      expect(s.processRestarts, s.name).toBe(0);
    }
    // The conversation itself: each turn found, answered once, and the model heard each whole.
    const rows = readTurns(run.out);
    expect(rows).toHaveLength(fixtureTruth('two-turns').turns);
    expect(rows.every((r) => r.answered)).toBe(true);
    expectEachTurnHeardWhole(run.out, 'dev1', 'two-turns');
  }, 150_000);
});

describe('pnpm demo: crashing services', () => {
  it('killing the session in the middle of a user turn: the restarted session reads the turn back from the audio history, answers it whole, and does not greet again', async () => {
    const fixture = 'noisy-conversation';
    const truth = fixtureTruth(fixture);
    const first = truth.segments.filter((s) => s.turn === 1);
    let killedAtMs: number | undefined;
    const seen: string[] = [];
    const run = await runDemo(['--input', join(FIXTURES, `${fixture}.wav`)], {
      onLine: (line) => {
        seen.push(line);
        // The microphone starts with its process: kill -9 the session a second into turn 1
        // (4.3 s long with its pause), so the restarted one is back before the turn ends.
        if (killedAtMs === undefined && /\[demo\] started capture-dev1 \(pid \d+\)/.test(line)) {
          killedAtMs = first[0]!.startMs + 1000;
          const pid = Number(/\[demo\] started session \(pid (\d+)\)/.exec(seen.join('\n'))?.[1]);
          setTimeout(() => process.kill(pid, 'SIGKILL'), killedAtMs);
        }
      },
    });
    const log = run.lines.join('\n');
    expect(run.code, log).toBe(0);
    expect(run.violations).toEqual([]);
    expect(log).toContain('[demo] session died; restarting it');
    const rows = readTurns(run.out);
    expect(rows.map((r) => r.answered), log).toEqual(Array(truth.turns).fill(true));
    // The model heard turn 1 from its start, though the session that answered it was not
    // running then: its audio came back from the history.
    // Once per conversation: the restarted session resumes it and does not greet again.
    const assistant = readHistory(run.out).filter((h) => h.role === 'assistant');
    expect(assistant.filter((h) => h.text.startsWith('Hello! I am'))).toHaveLength(1);
    const answers = assistant.filter((h) => !h.text.startsWith('Hello! I am'));
    expect(answers).toHaveLength(truth.turns);
    const heard = Number(/You spoke for ([\d.]+) seconds/.exec(answers[0]!.text)![1]);
    expect(heard).toBeGreaterThanOrEqual((first.at(-1)!.endMs - first[0]!.startMs) / 1000);
  }, 120_000);
});
