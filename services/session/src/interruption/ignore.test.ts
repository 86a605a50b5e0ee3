import { describe, expect, it } from 'vitest';
import { IgnoreStrategy } from './ignore.ts';
import { speaking, view } from './view.testing.ts';

describe('ignore strategy', () => {
  it('never interrupts, pauses or flushes', () => {
    const s = new IgnoreStrategy();
    for (const type of ['speech.onset', 'speech.confirmed', 'speech.sustained', 'speech.stopped', 'assistant.generation.ending'] as const) {
      expect(s.decide({ type }, speaking())).toEqual([]);
    }
    expect(s.decide({ type: 'assistant.text', text: 'Done. ' }, speaking())).toEqual([]);
  });

  it('holds a turn while the assistant has the floor (generating, audible or paused) and releases it once it is done', () => {
    const s = new IgnoreStrategy();
    expect(s.decide({ type: 'user.turn.start' }, view({ answering: true }))).toEqual([{ type: 'hold-turn' }]);
    expect(s.decide({ type: 'user.turn.start' }, view({ paused: true }))).toEqual([{ type: 'hold-turn' }]);
    expect(s.decide({ type: 'assistant.stopped' }, view({ audible: true, holding: true }))).toEqual([]);
    expect(s.decide({ type: 'assistant.stopped' }, view({ holding: true }))).toEqual([{ type: 'release-held' }]);
    expect(s.decide({ type: 'user.turn.start' }, view())).toEqual([{ type: 'send-turn' }]);
  });
});
