import { describe, expect, it } from 'vitest';
import { PauseStrategy } from './pause.ts';
import { speaking, view } from './view.testing.ts';

const onHold = (o = {}) => view({ answering: true, generating: true, paused: true, ...o });

describe('pause strategy', () => {
  it('pauses on onset, then interrupts when the speech is sustained', () => {
    const s = new PauseStrategy();
    expect(s.decide({ type: 'speech.onset' }, speaking())).toEqual([{ type: 'pause' }]);
    expect(s.decide({ type: 'speech.onset' }, onHold())).toEqual([]);
    expect(s.decide({ type: 'user.turn.start' }, onHold())).toEqual([{ type: 'hold-turn' }]);
    expect(s.decide({ type: 'speech.sustained' }, onHold({ holding: true }))).toEqual([{ type: 'interrupt', reason: 'sustained user speech' }]);
    // Decided: the end of that speech changes nothing.
    expect(s.decide({ type: 'speech.stopped' }, view({ holding: false }))).toEqual([]);
  });

  it('a blip (speech that stops before sustained) resumes and drops the held turn', () => {
    const s = new PauseStrategy();
    s.decide({ type: 'speech.onset' }, speaking());
    expect(s.decide({ type: 'speech.stopped' }, onHold({ holding: true }))).toEqual([{ type: 'resume' }, { type: 'drop-held' }]);
    expect(s.decide({ type: 'speech.sustained' }, speaking())).toEqual([]);
  });

  it('a misfire with no turn resumes without dropping anything', () => {
    const s = new PauseStrategy();
    s.decide({ type: 'speech.onset' }, speaking());
    expect(s.decide({ type: 'speech.stopped' }, onHold())).toEqual([{ type: 'resume' }]);
  });

  it('ignores speech when nothing is audible; a held turn waits while paused, then goes when the assistant is done', () => {
    const s = new PauseStrategy();
    expect(s.decide({ type: 'speech.onset' }, view({ answering: true, generating: true }))).toEqual([]);
    expect(s.decide({ type: 'assistant.stopped' }, view({ holding: true }))).toEqual([{ type: 'release-held' }]);
    s.decide({ type: 'speech.onset' }, speaking());
    expect(s.decide({ type: 'assistant.stopped' }, view({ holding: true }))).toEqual([]);
  });

  it('sends a turn that starts when the assistant is quiet', () => {
    expect(new PauseStrategy().decide({ type: 'user.turn.start' }, view())).toEqual([{ type: 'send-turn' }]);
  });
});
