import { describe, expect, it } from 'vitest';
import { ServerModeTurns } from './server-mode-turns.ts';

describe('ServerModeTurns', () => {
  it('names the model\'s answer after the latest VAD turn, with its decision time', () => {
    const t = new ServerModeTurns();
    t.started('u1');
    t.started('u2');
    t.ended('u2', 42);
    expect(t.claim()).toEqual({ turnId: 'u2', requestedAt: 42 });
    expect(t.claim()).toBeUndefined();
  });

  it('a turn that starts again (a stored publish delivered twice) does not name the next answer', () => {
    const t = new ServerModeTurns();
    t.started('u1');
    t.ended('u1', 10);
    expect(t.claim()).toEqual({ turnId: 'u1', requestedAt: 10 });
    t.started('u1'); // the late copy, after the model answered u1
    t.started('u2');
    expect(t.claim()?.turnId).toBe('u2');
    t.started('u1');
    expect(t.claim()).toBeUndefined();
  });
});
