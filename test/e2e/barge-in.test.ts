import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { audibleSegments, FIXTURES, fixtureTruth, readHistory, readTurns, runDemo } from '../support/run-demo.ts';

/**
 * Barge-in, measured where the user hears it: on the output timeline of assistant.wav, which
 * shares its origin with the input, against the fixture's true speech boundaries.
 */
async function demo(fixture: string, strategy: string) {
  const run = await runDemo(['--input', join(FIXTURES, `${fixture}.wav`), '--interruption', strategy, '--no-greeting']);
  expect(run.code, run.lines.join('\n')).toBe(0);
  expect(run.violations).toEqual([]);
  const truth = fixtureTruth(fixture);
  const bargeAtS = truth.segments.find((s) => s.turn === 2)!.startMs / 1000;
  const answers = audibleSegments(join(run.out, 'dev1', 'assistant.wav'), 0.3);
  const first = answers[0]!;
  return { run, truth, bargeAtS, answers, first, rows: readTurns(run.out) };
}

describe('barge-in through the whole stack', () => {
  it('immediate: playback stops within 100 ms of the user\'s speech start', async () => {
    const { bargeAtS, first, rows } = await demo('barge-in', 'immediate');
    // The first answer was playing when the user started again, and stopped right after.
    expect(first.startS).toBeLessThan(bargeAtS);
    expect(first.endS).toBeGreaterThan(bargeAtS - 0.02);
    expect(first.endS - bargeAtS).toBeLessThan(0.1);
    expect(rows.map((r) => r.interrupted)).toEqual([true, false]);
  }, 90_000);

  it('pause: a cough-length blip pauses the answer but does not stop it', async () => {
    const { bargeAtS, answers, rows, run, truth } = await demo('blip', 'pause');
    // The answer is heard to its end: paused around the blip, then resumed.
    expect(rows[0]!.interrupted).toBe(false);
    expect(answers[0]!.startS).toBeLessThan(bargeAtS);
    // Paused: the answer's audio stops within 150 ms of the blip's onset (the silence in the
    // WAV is playback holding it, not the end of a sentence), and comes back after the blip.
    const blip = truth.segments.find((s) => s.turn === 2)!;
    const held = answers.findIndex((a) => a.startS < bargeAtS && a.endS > bargeAtS - 0.02 && a.endS < bargeAtS + 0.15);
    expect(held, JSON.stringify({ bargeAtS, answers })).toBeGreaterThanOrEqual(0);
    expect(answers[held + 1]?.startS, JSON.stringify({ blipEndS: blip.endMs / 1000, answers })).toBeGreaterThan(blip.endMs / 1000);
    const heard = answers.filter((a) => a.startS < bargeAtS + 2.5).reduce((s, a) => s + (a.endS - a.startS), 0);
    const said = readHistory(run.out).find((h) => h.role === 'assistant')!.text;
    expect(said).toMatch(/^You spoke for [\d.]+ seconds\. This is answer number 1\.$/);
    // Roughly the full answer was played (espeak speaks it in about 3 s).
    expect(heard).toBeGreaterThan(2.5);
  }, 90_000);

  it('deferred: the interruption waits for the end of the sentence', async () => {
    const { bargeAtS, first, rows } = await demo('barge-in', 'deferred');
    expect(rows[0]!.interrupted).toBe(true);
    // Not at once: the first sentence ("You spoke for N seconds.") is finished first.
    expect(first.endS - bargeAtS).toBeGreaterThan(0.15);
    expect(first.endS - first.startS).toBeGreaterThan(1.5);
    expect(first.endS - first.startS).toBeLessThan(2.9);
  }, 90_000);

  it('ignore: the assistant always finishes, and the user\'s turn is answered after', async () => {
    const { bargeAtS, first, rows, answers } = await demo('barge-in', 'ignore');
    expect(rows.map((r) => r.interrupted)).toEqual([false, false]);
    expect(first.endS - bargeAtS).toBeGreaterThan(1);
    expect(answers.length).toBe(2);
    expect(answers[1]!.startS).toBeGreaterThan(first.endS);
  }, 90_000);
});
