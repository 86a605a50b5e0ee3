import type { AudioChunk } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { UserTurnRelay } from './user-turn-relay.ts';

const T0 = 1_000_000_000;
/** A 20 ms mono chunk at 16 kHz starting at `ms` on the capture timeline. */
const chunk = (ms: number, seq = ms / 20): AudioChunk => ({ seq, captureTsUs: T0 + ms * 1000, sampleRate: 16000, channels: 1, pcm: new Int16Array(320) });
const seqs = (chunks: AudioChunk[]) => chunks.map((c) => c.seq);

describe('UserTurnRelay', () => {
  it('a new turn starts with the ring audio from speech start minus the pre-roll', () => {
    const relay = new UserTurnRelay({ preRollMs: 100 });
    for (let ms = 0; ms < 1000; ms += 20) expect(relay.push(chunk(ms))).toBe('none');
    const turn = relay.startTurn('t1', T0 + 510_000);
    // From 410 ms: the chunk 400-420 holds some of it and goes too; 380-400 does not.
    expect(seqs(turn.pending)).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
  });

  it('keeps only ringMs of recent audio', () => {
    const relay = new UserTurnRelay({ preRollMs: 5000, ringMs: 200 });
    for (let ms = 0; ms < 1000; ms += 20) relay.push(chunk(ms));
    // The last chunk starts at 980 ms: what starts before 780 ms is gone.
    expect(relay.startTurn('t1', T0).pending[0]!.seq).toBe(39);
  });

  it('a sent turn hands out its audio once; later audio goes straight through until the turn ends', () => {
    const relay = new UserTurnRelay({ preRollMs: 0 });
    relay.push(chunk(0));
    const turn = relay.startTurn('t1', T0);
    expect(seqs(relay.send(turn).audio)).toEqual([0]);
    expect(relay.current).toBe(turn);
    expect(relay.push(chunk(20))).toBe('send');
    expect(relay.endTurn('t1')).toBe('current');
    expect(relay.endTurn('t1')).toBeUndefined();
    expect(relay.push(chunk(40))).toBe('none');
    relay.finishCurrent('other');
    expect(relay.current).toBe(turn);
    relay.finishCurrent('t1');
    expect(relay.current).toBeUndefined();
  });

  it('a held turn collects its audio until it ends, and is sent with all of it and its end', () => {
    const relay = new UserTurnRelay({ preRollMs: 0 });
    relay.push(chunk(0));
    const turn = relay.startTurn('t2', T0);
    relay.hold(turn);
    expect(relay.push(chunk(20))).toBe('held');
    expect(relay.endTurn('t2')).toBe('held');
    expect(relay.push(chunk(40))).toBe('none');
    const taken = relay.takeHeld()!;
    expect(relay.held).toBeUndefined();
    expect(relay.send(taken)).toMatchObject({ ended: true });
    expect(taken.pending).toEqual([]);
  });

  it('a dropped held turn is gone; its end is then ignored', () => {
    const relay = new UserTurnRelay();
    relay.hold(relay.startTurn('blip', T0));
    expect(relay.takeHeld()!.turnId).toBe('blip');
    expect(relay.endTurn('blip')).toBeUndefined();
  });

  it('a turn sent while the one before waits for its first answer audio continues it: both are sent again after a loss', () => {
    const relay = new UserTurnRelay({ preRollMs: 40 });
    for (let ms = 0; ms < 100; ms += 20) relay.push(chunk(ms));
    const first = relay.startTurn('t1', T0 + 40_000);
    expect(relay.send(first).continued).toBeUndefined();
    relay.endTurn('t1');
    for (let ms = 100; ms < 200; ms += 20) relay.push(chunk(ms));
    // Its pre-roll (from 140 ms) is audio that went to nobody: no overlap with t1's.
    const second = relay.startTurn('t2', T0 + 180_000);
    const sent = relay.send(second);
    expect(sent.continued).toBe('t1');
    expect(second.continues).toEqual(['t1']);
    relay.push(chunk(200));
    // The session is lost: t1's audio, then t2's, once each and in order.
    expect(seqs(relay.replay()!.audio)).toEqual([0, 1, 2, 3, 4, 7, 8, 9, 10]);
    // Once the answer starts, nothing is kept to send again.
    relay.answered('t2');
    expect(relay.replay()!.audio).toEqual([]);
  });

  it('a turn sent after the one before was answered continues nothing', () => {
    const relay = new UserTurnRelay({ preRollMs: 0 });
    relay.push(chunk(0));
    relay.send(relay.startTurn('t1', T0));
    relay.endTurn('t1');
    relay.answered('t1');
    relay.push(chunk(20));
    expect(relay.send(relay.startTurn('t2', T0 + 20_000)).continued).toBeUndefined();
  });

  it('a chunk stamped in the future neither stops the ring from trimming nor stays to be sent with every turn', () => {
    // Old code trimmed only from the front: the forged chunk sat there and the ring grew without end.
    const relay = new UserTurnRelay({ preRollMs: 100, ringMs: 200 });
    for (let ms = 0; ms < 100; ms += 20) relay.push(chunk(ms));
    relay.push(chunk(3_600_000, 9999)); // an hour ahead
    for (let ms = 100; ms < 5000; ms += 20) relay.push(chunk(ms));
    const turn = relay.startTurn('t1', T0 + 4_900_000);
    expect(seqs(turn.pending)).not.toContain(9999);
    expect(seqs(turn.pending)).toEqual([240, 241, 242, 243, 244, 245, 246, 247, 248, 249]);
    // Bounded: only the last ringMs of audio is kept.
    expect(relay.startTurn('t2', T0).pending.length).toBeLessThanOrEqual(11);
  });
});
