import { describe, expect, it } from 'vitest';
import { DeferredStrategy } from './deferred.ts';
import { speaking, view } from './view.testing.ts';

describe('deferred strategy', () => {
  it('confirmed speech asks playback to stop at the next pause of the answer, once; turns meanwhile are held', () => {
    const s = new DeferredStrategy();
    expect(s.decide({ type: 'speech.onset' }, speaking())).toEqual([]);
    expect(s.decide({ type: 'speech.confirmed' }, speaking())).toEqual([{ type: 'flush-at-pause', reason: 'deferred interruption: at the next pause' }]);
    expect(s.decide({ type: 'user.turn.start' }, speaking())).toEqual([{ type: 'hold-turn' }]);
    // Transcript timing is not the listener's: a sentence end in the text decides nothing.
    expect(s.decide({ type: 'assistant.text', text: ' 0.6 seconds. ' }, speaking({ holding: true }))).toEqual([]);
    expect(s.decide({ type: 'speech.confirmed' }, speaking({ holding: true }))).toEqual([]);
  });

  it('the held turn goes once the assistant has stopped (flushed at the pause, or finished)', () => {
    const s = new DeferredStrategy();
    s.decide({ type: 'speech.confirmed' }, speaking());
    expect(s.decide({ type: 'assistant.stopped' }, view({ answering: true, generating: true, holding: true }))).toEqual([{ type: 'interrupt', reason: 'deferred interruption took effect', playbackStopped: true }]);
    // Without a pending interruption, a held turn simply goes once the assistant is done.
    expect(s.decide({ type: 'assistant.stopped' }, view({ holding: true }))).toEqual([{ type: 'release-held' }]);
    // A new answer can be deferred again.
    expect(s.decide({ type: 'speech.confirmed' }, speaking())).toHaveLength(1);
  });

  it('does nothing while the assistant is quiet or already interrupted', () => {
    const s = new DeferredStrategy();
    expect(s.decide({ type: 'speech.confirmed' }, view())).toEqual([]);
    expect(s.decide({ type: 'speech.confirmed' }, speaking({ interrupted: true }))).toEqual([]);
    expect(s.decide({ type: 'user.turn.start' }, speaking({ interrupted: true }))).toEqual([{ type: 'send-turn' }]);
  });
});
