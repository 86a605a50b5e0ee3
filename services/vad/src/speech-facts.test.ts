import { describe, expect, it } from 'vitest';
import { SpeechFacts } from './speech-facts.ts';

const ms = (v: number) => v * 1000;

describe('SpeechFacts', () => {
  it('reports onset, confirmed start, sustained speech once, and the end', () => {
    const facts = new SpeechFacts({ sustainedSpeechMs: 500 });
    expect(facts.from([{ type: 'onset', atUs: ms(1000) }]).map((f) => f.type)).toEqual(['speech.onset']);
    expect(facts.from([{ type: 'confirmed', speechStartUs: ms(1000), atUs: ms(1250), inferenceMs: 0.3 }])).toEqual([
      { type: 'speech.start', speechStartUs: ms(1000), inferenceMs: 0.3 },
    ]);
    expect(facts.from([{ type: 'voiced', atUs: ms(1400) }])).toEqual([]);
    expect(facts.from([{ type: 'voiced', atUs: ms(1500) }])).toEqual([{ type: 'speech.sustained', speechStartUs: ms(1000), atUs: ms(1500), sustainedMs: 500 }]);
    expect(facts.from([{ type: 'voiced', atUs: ms(1900) }])).toEqual([]);
    expect(facts.from([{ type: 'end', speechStartUs: ms(1000), speechEndUs: ms(2000), endSource: 'vad', atUs: ms(2300), inferenceMs: 0.3 }]).map((f) => f.type)).toEqual(['speech.end']);
  });

  it('a short segment is not sustained: a misfire or an end comes first', () => {
    const facts = new SpeechFacts({ sustainedSpeechMs: 600 });
    const seen = [
      ...facts.from([{ type: 'onset', atUs: ms(0) }]),
      ...facts.from([{ type: 'confirmed', speechStartUs: ms(0), atUs: ms(250), inferenceMs: 0 }, { type: 'voiced', atUs: ms(400) }]),
      // silence after 400 ms: the segment ends after the hangover, past 600 ms of wall time
      ...facts.from([{ type: 'frame', atUs: ms(700), probability: 0.01 }, { type: 'end', speechStartUs: 0, speechEndUs: ms(400), endSource: 'vad', atUs: ms(700), inferenceMs: 0 }]),
      ...facts.from([{ type: 'onset', atUs: ms(2000) }, { type: 'misfire', atUs: ms(2100) }]),
    ].map((f) => f.type);
    expect(seen).toEqual(['speech.onset', 'speech.start', 'speech.end', 'speech.onset', 'speech.misfire']);
  });

  it('each new segment can be sustained again', () => {
    const facts = new SpeechFacts({ sustainedSpeechMs: 100 });
    const run = (t: number) => facts.from([{ type: 'onset', atUs: ms(t) }, { type: 'confirmed', speechStartUs: ms(t), atUs: ms(t + 50), inferenceMs: 0 }, { type: 'voiced', atUs: ms(t + 150) }]);
    expect(run(0).filter((f) => f.type === 'speech.sustained')).toHaveLength(1);
    facts.from([{ type: 'end', speechStartUs: 0, speechEndUs: ms(200), endSource: 'vad', atUs: ms(500), inferenceMs: 0 }]);
    expect(run(1000).filter((f) => f.type === 'speech.sustained')).toHaveLength(1);
  });
});
