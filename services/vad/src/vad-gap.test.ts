import type { VoiceEvent } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { chunksOf, loadFixture, trueTurns } from './fixture-runner.ts';
import { actorForTest } from './vad-actor.testing.ts';

const T0 = 1_700_000_000_000_000;

async function run(withHistory: boolean, shedByMailbox = false) {
  const { pcm, truth } = loadFixture('single-hello');
  const turn = trueTurns(truth)[0]!;
  // One second of quiet after the fixture: the audio goes on after the gap.
  const chunks = chunksOf(Int16Array.from([...pcm, ...new Int16Array(16000)]), T0);
  // The whole turn and the silence that ends it fall into a gap (the vad's subscription was
  // away: a NATS outage, its node lost); the history kept them.
  const gapFrom = Math.floor(turn.startMs / 20) - 10;
  const gapTo = Math.ceil(turn.endMs / 20) + 45; // past the 700 ms of silence that end it
  const calls: string[] = [];
  const history = {
    between: async () => [],
    missing: async (_d: string, after: { seq: number }, before: { seq: number }) => {
      calls.push(`${after.seq}..${before.seq}`);
      return chunks.filter((c) => c.seq > after.seq && c.seq < before.seq);
    },
  };
  const { actor, events, logger, mailbox } = await actorForTest('gap', { audioHistory: withHistory ? history : undefined });
  for (const chunk of chunks) {
    // The actor's own mailbox dropped the gap's audio (it fell behind): load shedding.
    if (chunk.seq === gapTo && shedByMailbox) mailbox.dropped += gapTo - gapFrom;
    if (chunk.seq < gapFrom || chunk.seq >= gapTo) await actor.handle({ kind: 'audio', chunk, receivedAtUs: 0 });
  }
  const gapLines = logger.lines().filter((l) => String(l.msg).startsWith('gap in audio sequence'));
  return { events, calls, turn, gapFrom, gapTo, gapLines };
}

describe('VadActor: a gap in a device\'s audio sequence', () => {
  it('is read back from the audio history and heard: the turn spoken in it ends (its end alone, as for audio heard late), its speech start where the audio says', async () => {
    const { events, calls, turn, gapFrom, gapTo, gapLines } = await run(true);
    expect(calls).toEqual([`${gapFrom - 1}..${gapTo}`]);
    expect(gapLines.map((l) => l.filled)).toEqual([gapTo - gapFrom]);
    const ends = events.filter((e): e is Extract<VoiceEvent, { type: 'turn.end' }> => e.type === 'turn.end');
    expect(ends).toHaveLength(1);
    expect(Math.abs((ends[0]!.speechStartUs - T0) / 1000 - turn.startMs)).toBeLessThan(150);
    // Speech facts of the past are not published: nobody can act on them now.
    expect(events.filter((e) => e.type === 'turn.start' || e.type.startsWith('speech.'))).toEqual([]);
  });

  it('without a history the turn in the gap is not heard at all', async () => {
    const { events } = await run(false);
    expect(events.filter((e) => e.type === 'turn.end')).toEqual([]);
  });

  it('is left alone when the actor\'s own mailbox made it (it fell behind and dropped the oldest audio): reading it back would keep it behind', async () => {
    const { events, calls, gapLines } = await run(true, true);
    expect(calls).toEqual([]);
    // The mailbox logs its shedding (once a second); the gap it made is not logged again.
    expect(gapLines).toEqual([]);
    expect(events.filter((e) => e.type === 'turn.end')).toEqual([]);
  });
});
