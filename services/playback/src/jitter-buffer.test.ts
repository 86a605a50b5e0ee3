import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterBufferListener } from './jitter-buffer.ts';
import type { PlayoutClock } from './playout-clock.ts';

/** A virtual clock: timers fire only when the test advances time. */
function virtualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 0;
  const clock: PlayoutClock = {
    monotonicMs: () => now,
    epochUs: () => 1_000_000_000 + Math.round(now * 1000),
    at: (at, fn) => {
      const id = nextId++;
      timers.push({ at, fn, id });
      return () => (timers = timers.filter((t) => t.id !== id));
    },
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = timers[0];
      if (!t || t.at > end) break;
      timers.shift();
      now = Math.max(now, t.at);
      t.fn();
    }
    now = end;
  };
  return { clock, advance };
}

function recorder() {
  const frames: { pcm: Int16Array; at: number; turnId: string }[] = [];
  const events: string[] = [];
  const listener: JitterBufferListener = {
    frame: (pcm, at, turnId) => frames.push({ pcm: pcm.slice(), at, turnId }),
    started: (turnId, at, recv) => events.push(`started ${turnId} ${(at - recv) / 1000}`),
    finished: (turnId, ms) => events.push(`finished ${turnId} ${ms}`),
    underrun: (turnId, ms) => events.push(`underrun ${turnId} ${ms}`),
  };
  return { frames, events, listener };
}

const ramp = (n: number, from = 1) => Int16Array.from({ length: n }, (_, i) => from + i);

describe('JitterBuffer', () => {
  it('waits for the target, then plays on a steady clock, bit-exact, and finishes the turn', () => {
    const { clock, advance } = virtualClock();
    const r = recorder();
    const jb = new JitterBuffer(r.listener, { clock, targetMs: 60, frameMs: 20 });
    jb.push('t1', ramp(960)); // 40 ms: below target
    advance(100);
    expect(r.frames).toHaveLength(0);
    jb.push('t1', ramp(960, 961)); // 80 ms buffered: starts now
    jb.push('t1', ramp(480, 1921));
    jb.complete('t1');
    advance(1000);
    const played = r.frames.flatMap((f) => [...f.pcm]);
    expect(played).toEqual([...ramp(2400)]);
    // Frames are 20 ms apart on the playout clock, whatever the timer lateness.
    expect(r.frames.map((f) => f.at - r.frames[0]!.at)).toEqual([0, 20_000, 40_000, 60_000, 80_000]);
    expect(r.events).toEqual(['started t1 100', 'finished t1 100']);
  });

  it('fills an underrun with silence, counts its frames, and reports each dry spell once with all its silence when it ends', () => {
    const { clock, advance } = virtualClock();
    const r = recorder();
    const jb = new JitterBuffer(r.listener, { clock, targetMs: 40, frameMs: 20 });
    jb.push('t1', ramp(960)); // 40 ms
    for (let i = 0; i < 5; i++) advance(20); // 40 ms played, then three frames of silence
    const silent = r.frames.filter((f) => f.pcm.every((s) => s === 0));
    expect(silent.length).toBe(jb.underruns);
    expect(jb.underruns).toBeGreaterThanOrEqual(2);
    // Still dry: nothing said yet (a stalled model would be 50 events a second).
    expect(r.events.filter((e) => e.startsWith('underrun'))).toEqual([]);
    jb.push('t1', ramp(960));
    advance(20);
    expect(r.events.filter((e) => e.startsWith('underrun'))).toEqual([`underrun t1 ${jb.underruns * 20}`]);
    // A second spell, ended by the turn's end: its own report.
    const firstSpell = jb.underruns;
    for (let i = 0; i < 4; i++) advance(20);
    jb.complete('t1');
    expect(r.events.filter((e) => e.startsWith('underrun'))).toEqual([`underrun t1 ${firstSpell * 20}`, `underrun t1 ${(jb.underruns - firstSpell) * 20}`]);
  });

  it('flush drops everything at once and reports how much', () => {
    const { clock, advance } = virtualClock();
    const r = recorder();
    const jb = new JitterBuffer(r.listener, { clock, targetMs: 60, frameMs: 20 });
    jb.push('t1', ramp(24000)); // 1 s
    advance(45); // three frames played (0, 20, 40)
    const before = r.frames.length;
    const { turnId, droppedMs } = jb.flush();
    advance(1000);
    expect(turnId).toBe('t1');
    expect(r.frames.length).toBe(before); // nothing after the flush
    expect(droppedMs).toBeCloseTo(1000 - before * 20, 5);
    expect(r.events.some((e) => e.startsWith('finished'))).toBe(false);
  });

  it('pause keeps the audio and resume continues where it paused', () => {
    const { clock, advance } = virtualClock();
    const r = recorder();
    const jb = new JitterBuffer(r.listener, { clock, targetMs: 20, frameMs: 20 });
    jb.push('t1', ramp(2400));
    jb.complete('t1');
    advance(30); // two frames
    jb.pause();
    advance(500);
    const atPause = r.frames.length;
    jb.resume();
    advance(1000);
    expect(atPause).toBe(2);
    expect(r.frames.flatMap((f) => [...f.pcm])).toEqual([...ramp(2400)]);
    expect(r.events.at(-1)).toBe('finished t1 100');
  });

  it('plays consecutive turns in order, each with its own start and finish', () => {
    const { clock, advance } = virtualClock();
    const r = recorder();
    const jb = new JitterBuffer(r.listener, { clock, targetMs: 20, frameMs: 20 });
    jb.push('a', ramp(480));
    jb.complete('a');
    jb.push('b', ramp(720, 5000));
    jb.complete('b');
    advance(1000);
    expect(r.events).toEqual(['started a 0', 'finished a 20', 'started b 20', 'finished b 30']);
    expect(r.frames.map((f) => f.turnId)).toEqual(['a', 'b', 'b']);
  });
});
