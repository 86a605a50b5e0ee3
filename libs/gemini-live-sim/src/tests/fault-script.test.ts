import { describe, expect, it } from 'vitest';
import { FaultSpecError, parseFaults } from '../fault-script.ts';
import { startGeminiLiveSim } from '../server.ts';
import { MANUAL, audio, connect } from './client.ts';

describe('scripted faults', () => {
  it('parses ACTION@MOMENTn[+DELAYms][:key=value], several joined by ";", and names what is wrong', () => {
    expect(parseFaults('goaway@speech2+1000ms:timeLeftMs=200; close@answer1:code=1011')).toEqual([
      { action: 'goaway', on: 'speech', nth: 2, afterMs: 1000, timeLeftMs: 200, code: 1011, ms: Infinity },
      { action: 'close', on: 'answer', nth: 1, afterMs: 0, timeLeftMs: 5000, code: 1011, ms: Infinity },
    ]);
    expect(parseFaults('stall@speech1+500:ms=20000')[0]).toMatchObject({ action: 'stall', ms: 20_000, afterMs: 500 });
    expect(() => parseFaults('explode@speech1')).toThrow(FaultSpecError);
    expect(() => parseFaults('drop@speech0')).toThrow(/count from 1/);
    expect(() => parseFaults('drop@speech1:colour=3')).toThrow(/unknown setting colour/);
  });

  it('fires at the n-th user turn counted across connections, at the connection where it was spoken, once', async () => {
    const sim = await startGeminiLiveSim({ preset: 'simple', firstAudioDelayMs: 0, faults: parseFaults('close@speech2+100:code=1011') });
    const fired: string[] = [];
    sim.on('fault', ({ session }) => fired.push(session));
    try {
      // Turn 1 on a first connection, which then ends; turn 2 on a second one.
      const first = await connect(sim, MANUAL);
      first.session.sendRealtimeInput({ activityStart: {} });
      first.session.sendRealtimeInput(audio(300));
      first.session.sendRealtimeInput({ activityEnd: {} });
      await first.until((m) => m.some((x) => x.serverContent?.modelTurn));
      first.session.close();
      await first.closed;

      const second = await connect(sim, MANUAL);
      second.session.sendRealtimeInput({ activityStart: {} });
      second.session.sendRealtimeInput(audio(100));
      const { code, reason } = await second.closed;
      expect(code).toBe(1011);
      expect(reason).toBe('Internal error encountered.');
      expect(fired).toEqual([sim.sessions.at(-1)!.id]);

      // Once: a third connection's turns are left alone.
      const third = await connect(sim, MANUAL);
      third.session.sendRealtimeInput({ activityStart: {} });
      third.session.sendRealtimeInput(audio(300));
      third.session.sendRealtimeInput({ activityEnd: {} });
      await third.until((m) => m.some((x) => x.serverContent?.modelTurn));
      expect(fired).toHaveLength(1);
      third.session.close();
    } finally {
      await sim.close();
    }
  });
});
