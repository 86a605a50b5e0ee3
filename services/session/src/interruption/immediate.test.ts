import { describe, expect, it } from 'vitest';
import { ImmediateStrategy } from './immediate.ts';
import { speaking, view } from './view.testing.ts';

describe('immediate strategy', () => {
  it('interrupts on the first voiced frame while the answer is audible', () => {
    expect(new ImmediateStrategy().decide({ type: 'speech.onset' }, speaking())).toEqual([{ type: 'interrupt', reason: 'user speech' }]);
  });

  it('does not interrupt what the user does not hear, nor an answer twice', () => {
    const s = new ImmediateStrategy();
    expect(s.decide({ type: 'speech.onset' }, view({ answering: true, generating: true }))).toEqual([]);
    expect(s.decide({ type: 'speech.onset' }, speaking({ interrupted: true }))).toEqual([]);
    expect(s.decide({ type: 'speech.confirmed' }, speaking())).toEqual([]);
  });

  it('sends every user turn at once, even over an answer', () => {
    const s = new ImmediateStrategy();
    expect(s.decide({ type: 'user.turn.start' }, speaking())).toEqual([{ type: 'send-turn' }]);
    expect(s.decide({ type: 'user.turn.start' }, view())).toEqual([{ type: 'send-turn' }]);
  });
});
