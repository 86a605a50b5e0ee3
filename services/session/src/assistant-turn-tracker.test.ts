import type { AudioChunk, VoiceEvent } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { AssistantTurnTracker, type AssistantTurnTrackerOptions } from './assistant-turn-tracker.ts';

function tracker() {
  return trackerWith({});
}
function trackerWith(options: Partial<AssistantTurnTrackerOptions>) {
  const events: VoiceEvent[] = [];
  const audio: AudioChunk[] = [];
  const closed: string[] = [];
  const t = new AssistantTurnTracker({ deviceId: 'd', publish: (e) => events.push(e), publishAudio: (c) => audio.push(c), onCompleted: (a) => closed.push(a.turnId) }, { modelTurnPrefix: 's', ...options });
  const types = () => events.map((e) => e.type);
  return { t, events, audio, closed, types };
}
const pcm = (n = 480) => new Int16Array(n);

describe('AssistantTurnTracker', () => {
  it('an answer: first audio starts it, audio carries its turn id and sequence, turnComplete closes it', () => {
    const { t, events, audio, closed, types } = tracker();
    t.begin('u1');
    expect(t.generating).toBe(true);
    t.inputText('hello');
    t.audio(pcm(), 24000);
    t.audio(pcm(), 24000);
    t.outputText('Hi there.');
    t.generationComplete();
    expect(t.generating).toBe(false);
    t.turnComplete();
    expect(audio.map((c) => [c.turnId, c.seq])).toEqual([['u1', 0], ['u1', 1]]);
    expect(types()).toEqual(['transcript', 'transcript', 'assistant.turn.start', 'assistant.audio.first', 'transcript', 'assistant.generation.complete', 'transcript', 'assistant.turn.complete']);
    expect(events.at(-1)).toMatchObject({ turnId: 'u1', interrupted: false, audioMs: 40 });
    expect(events.filter((e) => e.type === 'transcript' && e.final).map((e) => (e as { text: string }).text)).toEqual(['hello', 'Hi there.']);
    expect(closed).toEqual(['u1']);
    expect(t.current).toBeUndefined();
    expect(t.usageTurnId).toBe('u1');
  });

  it('audio with no answer open starts one named by the model prefix (greeting, server turns)', () => {
    const { t, audio } = tracker();
    t.audio(pcm());
    expect(audio[0]!.turnId).toBe('d-s1');
  });

  it('interrupts an answer once; its late audio and text are dropped', () => {
    const { t, events, audio } = tracker();
    t.begin('u1');
    t.audio(pcm());
    expect(t.markInterrupted('local', undefined)).toBe('u1');
    expect(t.markInterrupted('model', undefined)).toBeUndefined();
    expect(t.audio(pcm())).toBeUndefined();
    expect(t.outputText('late.')).toBe(false);
    expect(audio).toHaveLength(1);
    expect(events.filter((e) => e.type === 'assistant.interrupted')).toEqual([expect.objectContaining({ turnId: 'u1', by: 'local' })]);
    t.turnComplete();
    expect(events.at(-1)).toMatchObject({ type: 'assistant.turn.complete', interrupted: true });
  });

  it('with generation over, the interruption is of the answer the user still hears', () => {
    const { t } = tracker();
    expect(t.markInterrupted('local', 'heard')).toBe('heard');
    expect(t.isInterrupted('heard')).toBe(true);
    expect(t.markInterrupted('local', 'heard')).toBeUndefined();
  });

  it('a retired answer swallows what the model still sends for it until its turnComplete', () => {
    const { t, events, closed } = tracker();
    t.begin('u1');
    t.audio(pcm());
    expect(t.retire()).toBe(true);
    expect(t.current).toBeUndefined();
    expect(t.retired?.turnId).toBe('u1');
    expect(events.filter((e) => e.type === 'assistant.interrupted')).toHaveLength(1);
    t.begin('u2');
    expect(t.consumeRetired({ output: false, turnComplete: false })).toBe(false);
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(true);
    expect(t.consumeRetired({ output: true, turnComplete: true })).toBe(true);
    expect(t.retired).toBeUndefined();
    expect(closed).toEqual(['u1']);
    expect(t.current?.turnId).toBe('u2');
    expect(t.consumeRetired({ output: true, turnComplete: true })).toBe(false);
  });

  it('closes a retired answer the model never closed, and an answer whose audio stopped', () => {
    const { t, events } = tracker();
    t.begin('u1');
    t.retire();
    t.closeRetired();
    expect(events.at(-1)).toMatchObject({ type: 'assistant.turn.complete', turnId: 'u1', autoCompleted: true });
    t.begin('u2');
    expect(t.autoComplete()).toBe(false); // no audio yet: the model may still be thinking
    t.audio(pcm());
    expect(t.autoComplete()).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'assistant.turn.complete', turnId: 'u2', autoCompleted: true });
  });

  it('the late tail of a retired answer, after its grace closed it, is still not taken for the new answer', () => {
    // A stalled model: the old answer's tail arrives seconds later, after the grace timer.
    const { t, events } = tracker();
    t.begin('u1');
    t.audio(pcm());
    t.retire();
    t.closeRetired();
    t.begin('u2');
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(true);
    expect(t.consumeRetired({ output: false, turnComplete: true })).toBe(true);
    expect(events.filter((e) => e.type === 'assistant.turn.complete' && e.turnId === 'u1')).toHaveLength(1);
    // Now the model speaks for u2.
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(false);
  });

  it('the tail of an answer auto-completed in a stall is swallowed until the model closes it, not taken for an answer of its own', () => {
    // Old code: the model's late "...answer number 1." became a model-initiated answer (s1).
    const { t, events, audio } = tracker();
    t.begin('u1');
    t.audio(pcm());
    expect(t.autoComplete()).toBe(true);
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(true);
    expect(t.consumeRetired({ output: false, turnComplete: true })).toBe(true);
    expect(audio).toHaveLength(1);
    expect(events.filter((e) => e.type === 'assistant.turn.complete').map((e) => e.turnId)).toEqual(['u1']);
    // The next answer is the next turn's.
    t.begin('u2');
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(false);
  });

  it('two retired answers: both their turnCompletes are awaited', () => {
    const { t } = tracker();
    t.begin('u1');
    t.retire();
    t.begin('u2');
    t.retire();
    t.begin('u3');
    expect(t.consumeRetired({ output: true, turnComplete: true })).toBe(true);
    expect(t.consumeRetired({ output: true, turnComplete: true })).toBe(true);
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(false);
  });

  it('a model that never closes a retired answer is not swallowed forever', () => {
    const { t } = trackerWith({ retiredSwallowMaxMs: 0 });
    t.begin('u1');
    t.retire();
    t.begin('u2');
    const later = Date.now() + 5;
    while (Date.now() < later) { /* past the (zero) bound */ }
    expect(t.consumeRetired({ output: true, turnComplete: false })).toBe(false);
  });

  it('turnComplete waiting for input with nothing said: the turn goes on into the next one', () => {
    const { t, events } = tracker();
    t.begin('u1');
    t.turnComplete(true);
    expect(events.at(-1)).toMatchObject({ type: 'assistant.turn.complete', turnId: 'u1', audioMs: 0, waitingForInput: true });
    // With audio it was an answer: waitingForInput then only says the model expects more.
    t.begin('u2');
    t.audio(pcm());
    t.turnComplete(true);
    expect(events.at(-1)).not.toHaveProperty('waitingForInput');
  });

  it('never auto-completes inside the generationComplete → turnComplete gap', () => {
    const { t } = tracker();
    t.begin('u1');
    t.audio(pcm());
    t.generationComplete();
    expect(t.autoComplete()).toBe(false);
    expect(t.current?.turnId).toBe('u1');
  });

  it('a lost session completes every open answer', () => {
    const { t, closed } = tracker();
    t.begin('u1');
    t.retire();
    t.begin('u2');
    t.completeAll();
    expect(closed).toEqual(['u1', 'u2']);
  });
});
