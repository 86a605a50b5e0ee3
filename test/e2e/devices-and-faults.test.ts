import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureTruth, readHistory, readTurns, runDemo } from '../support/run-demo.ts';

describe('pnpm demo: several devices and crashing services', () => {
  it('three devices at once: each device\'s answers follow its own turns (no cross-talk)', async () => {
    const inputs = ['conversation', 'single-weather', 'pause-300ms'];
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
      // The simulator says how long it heard the user speak: each device hears its own.
      // The greeting ("Hello! I am ...") opens each session; the rest answer the user.
      const answers = readHistory(run.out, device).filter((h) => h.role === 'assistant' && !h.text.startsWith('Hello!'));
      expect(answers).toHaveLength(truth.turns);
      answers.forEach((a, t) => {
        const heard = Number(/You spoke for ([\d.]+) seconds/.exec(a.text)![1]);
        const segs = truth.segments.filter((s) => s.turn === t + 1);
        const spoke = (segs.at(-1)!.endMs - segs[0]!.startMs) / 1000;
        // Heard = the turn's audio from the pre-roll to the end-of-turn decision.
        expect(heard).toBeGreaterThan(spoke);
        expect(heard).toBeLessThan(spoke + 1.6);
        expect(a.text).toContain(`answer number ${t + 2}.`); // the greeting was answer 1
      });
    });
  }, 120_000);

  it.each(['vad', 'session'])('killing %s mid-conversation: the demo restarts it, the next turns are answered, the greeting is not heard again', async (service) => {
    let killed = false;
    const run0: string[] = [];
    const run = await runDemo([], {
      onLine: (line) => {
        // After the first answered turn, kill the service with SIGKILL (no goodbye).
        if (!killed && /^dev1: turn .* voice-to-voice/.test(line)) {
          const pid = Number(new RegExp(`\\[demo\\] started ${service} \\(pid (\\d+)\\)`).exec(run0.join('\n'))?.[1]);
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
        run0.push(line);
      },
    });
    const rows0 = readTurns(run.out);
    // A SIGKILL may cost the turn in flight; the exit code says whether one went unanswered.
    expect(run.code, run.lines.join('\n')).toBe(rows0.every((r) => r.answered) ? 0 : 3);
    expect(run.violations).toEqual([]);
    expect(killed).toBe(true);
    expect(run.lines.some((l) => l.includes(`[demo] ${service} died; restarting it`))).toBe(true);
    const rows = readTurns(run.out);
    const truth = fixtureTruth('conversation');
    expect(rows.length).toBeGreaterThanOrEqual(truth.turns - 1);
    // The turns after the crash are answered.
    expect(rows.at(-1)!.answered).toBe(true);
    expect(rows.at(-2)!.answered).toBe(true);
    // Once per conversation: a restarted session resumes it and does not greet again.
    expect(readHistory(run.out).filter((h) => h.role === 'assistant' && h.text.startsWith('Hello! I am'))).toHaveLength(1);
  }, 120_000);

  it('killing the session in the middle of a user turn: the restarted session reads the turn back from the audio history and answers it whole', async () => {
    const fixture = 'noisy-conversation';
    const truth = fixtureTruth(fixture);
    const first = truth.segments.filter((s) => s.turn === 1);
    let killedAtMs: number | undefined;
    const seen: string[] = [];
    const run = await runDemo(['--input', join(FIXTURES, `${fixture}.wav`), '--no-greeting'], {
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
    const answers = readHistory(run.out).filter((h) => h.role === 'assistant');
    expect(answers).toHaveLength(truth.turns);
    const heard = Number(/You spoke for ([\d.]+) seconds/.exec(answers[0]!.text)![1]);
    expect(heard).toBeGreaterThanOrEqual((first.at(-1)!.endMs - first[0]!.startMs) / 1000);
  }, 120_000);
});
