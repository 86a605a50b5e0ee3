import { makeEvent } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { BargeInArbiter, type InterruptionStrategy } from './barge-in-arbiter.ts';

const started = (turnId: string) => makeEvent('playback.started', { deviceId: 'd', turnId, playedAt: 1, bufferMs: 60 });
const finished = (turnId: string) => makeEvent('playback.finished', { deviceId: 'd', turnId, playedMs: 1000 });

function arbiter(strategy: InterruptionStrategy, minInterruptionMs = 500) {
  const a = new BargeInArbiter({ minInterruptionMs });
  a.strategy = strategy;
  return a;
}

describe('BargeInArbiter', () => {
  it('never interrupts when the assistant is silent', () => {
    for (const s of ['immediate', 'pause', 'deferred', 'ignore'] as const) {
      const a = arbiter(s);
      expect([...a.onSpeechOnset(0), ...a.onSpeechConfirmed(), ...a.onSpeechContinues(2_000_000), ...a.onSpeechStopped()]).toEqual([]);
    }
  });

  it('immediate: the first voiced frame interrupts, once per assistant turn', () => {
    const a = arbiter('immediate');
    a.onPlayback(started('t1'));
    expect(a.onSpeechOnset(1000)).toEqual([{ type: 'control.interrupt', turnId: 't1', strategy: 'immediate' }]);
    expect(a.onSpeechOnset(2000)).toEqual([]);
    a.onPlayback(finished('t1'));
    a.onPlayback(started('t2'));
    expect(a.onSpeechOnset(3000)).toHaveLength(1);
  });

  it('pause: a blip pauses then resumes; long speech interrupts', () => {
    const a = arbiter('pause', 500);
    a.onPlayback(started('t1'));
    expect(a.onSpeechOnset(1_000_000)).toEqual([{ type: 'control.pause', turnId: 't1' }]);
    expect(a.onSpeechContinues(1_200_000)).toEqual([]);
    expect(a.onSpeechStopped()).toEqual([{ type: 'control.resume', turnId: 't1' }]);
    expect(a.onSpeechOnset(3_000_000)).toEqual([{ type: 'control.pause', turnId: 't1' }]);
    expect(a.onSpeechContinues(3_499_000)).toEqual([]);
    expect(a.onSpeechContinues(3_500_000)).toEqual([{ type: 'control.interrupt', turnId: 't1', strategy: 'pause' }]);
    expect(a.onSpeechStopped()).toEqual([]);
  });

  it('deferred: only confirmed speech asks for the interruption', () => {
    const a = arbiter('deferred');
    a.onPlayback(started('t1'));
    expect(a.onSpeechOnset(0)).toEqual([]);
    expect(a.onSpeechConfirmed()).toEqual([{ type: 'control.interrupt', turnId: 't1', strategy: 'deferred' }]);
    expect(a.onSpeechConfirmed()).toEqual([]);
  });

  it('ignore: never', () => {
    const a = arbiter('ignore');
    a.onPlayback(started('t1'));
    expect([...a.onSpeechOnset(0), ...a.onSpeechConfirmed(), ...a.onSpeechContinues(9e9), ...a.onSpeechStopped()]).toEqual([]);
  });

  it('a flush of the audible turn ends it; events of other turns do not', () => {
    const a = arbiter('immediate');
    a.onPlayback(started('t2'));
    a.onPlayback(finished('t1'));
    expect(a.assistantAudible).toBe(true);
    a.onPlayback(makeEvent('playback.flushed', { deviceId: 'd', turnId: 't2', droppedMs: 100 }));
    expect(a.assistantAudible).toBe(false);
  });
});
