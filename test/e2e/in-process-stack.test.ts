import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoChildPid } from '../../bench/src/stack-runs.ts';
import { collectLines, expectAnswersPlayedWhole, FIXTURES, fixtureTruth, readTurns, REPO } from '../support/run-demo.ts';

/**
 * The bench's in-process stack (`bus-cost`): capture, vad, session and playback in one process
 * on a LocalConnection, no nats-server. What it measures is only worth something if it is the
 * same conversation: every turn found where the audio has it and answered once, whole.
 */
describe('the stack in one process without NATS (bench/src/in-process-stack.ts)', () => {
  it('answers every turn of every device, with no nats-server anywhere', async () => {
    const out = mkdtempSync(join(tmpdir(), 'voicebus-in-process-'));
    const child = spawn(process.execPath, [join(REPO, 'bench/src/in-process-stack.ts'), '--out', out, '--devices', '2', '--input', join(FIXTURES, 'two-turns.wav'), '--timeout-s', '90'], {
      // The simulator's log says what it sent (info), which the played audio is checked against.
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let natsChild: number | undefined;
    const lines = collectLines(child, (line) => {
      // Said as the audio starts: every service is up by then, and none dialed a server of its own.
      if (line.startsWith('[demo] started in-process')) natsChild = demoChildPid(child.pid!) ?? 0;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, lines.join('\n')).toBe(0);
    expect(natsChild).toBe(0);
    const truth = fixtureTruth('two-turns');
    for (const device of ['dev1', 'dev2']) {
      const rows = readTurns(out, device);
      expect(rows, device).toHaveLength(truth.turns);
      rows.forEach((r, i) => {
        const seg = truth.segments.filter((s) => s.turn === i + 1);
        expect(Math.abs(r.userStartS * 1000 - seg[0]!.startMs)).toBeLessThan(150);
        expect(r.answered).toBe(true);
        expect(r.interrupted).toBe(false);
      });
      expectAnswersPlayedWhole(out, device);
    }
  }, 120_000);
});
