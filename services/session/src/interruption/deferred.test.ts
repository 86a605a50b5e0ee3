import { describe, expect, it } from 'vitest';
import { DeferredStrategy } from './deferred.ts';
import { speaking, view } from './view.testing.ts';

describe('deferred strategy', () => {
  it('confirmed speech waits for the next sentence boundary of the transcript', () => {
    const s = new DeferredStrategy();
    expect(s.decide({ type: 'speech.onset' }, speaking())).toEqual([]);
    expect(s.decide({ type: 'speech.confirmed' }, speaking())).toEqual([{ type: 'defer' }]);
    expect(s.decide({ type: 'user.turn.start' }, speaking())).toEqual([{ type: 'hold-turn' }]);
    expect(s.decide({ type: 'assistant.text', text: 'You spoke for' }, speaking())).toEqual([]);
    expect(s.decide({ type: 'assistant.text', text: ' 0.6 seconds. ' }, speaking({ holding: true }))).toEqual([{ type: 'flush', reason: 'sentence boundary' }]);
    // Once per answer.
    expect(s.decide({ type: 'assistant.text', text: 'More. ' }, speaking())).toEqual([]);
  });

  it('or takes effect when the assistant stops speaking or finishes generating, whichever first', () => {
    const a = new DeferredStrategy();
    a.decide({ type: 'speech.confirmed' }, speaking());
    expect(a.decide({ type: 'assistant.stopped' }, view({ answering: true, generating: true }))).toEqual([{ type: 'flush', reason: 'assistant stopped speaking' }]);
    const b = new DeferredStrategy();
    b.decide({ type: 'speech.confirmed' }, speaking());
    expect(b.decide({ type: 'assistant.generation.ending' }, speaking())).toEqual([{ type: 'flush', reason: 'assistant finished generating' }]);
    expect(b.decide({ type: 'assistant.stopped' }, view())).toEqual([]);
  });

  it('interrupts at once when generation is over and only playback remains', () => {
    expect(new DeferredStrategy().decide({ type: 'speech.confirmed' }, view({ audible: true }))).toEqual([{ type: 'flush', reason: 'assistant already done generating' }]);
  });

  it('does nothing while the assistant is quiet or already interrupted; a held turn goes when it is done', () => {
    const s = new DeferredStrategy();
    expect(s.decide({ type: 'speech.confirmed' }, view())).toEqual([]);
    expect(s.decide({ type: 'speech.confirmed' }, speaking({ interrupted: true }))).toEqual([]);
    expect(s.decide({ type: 'assistant.stopped' }, view({ holding: true }))).toEqual([{ type: 'release-held' }]);
    expect(s.decide({ type: 'user.turn.start' }, speaking({ interrupted: true }))).toEqual([{ type: 'send-turn' }]);
  });
});
