import type { SpeechSignal } from './speech-detector.ts';

/** What the VAD tells the rest of the stack about the user's voice, on the capture timeline. */
export type SpeechFact =
  | { type: 'speech.onset'; atUs: number }
  | { type: 'speech.misfire'; atUs: number }
  | { type: 'speech.start'; speechStartUs: number; inferenceMs: number }
  | { type: 'speech.sustained'; speechStartUs: number; atUs: number; sustainedMs: number }
  | { type: 'speech.end'; speechStartUs: number; speechEndUs: number; inferenceMs: number };

export interface SpeechFactsOptions {
  /** Voiced speech this long after its onset is reported once as `speech.sustained`. */
  sustainedSpeechMs: number;
}

export const SPEECH_FACTS_DEFAULTS: SpeechFactsOptions = { sustainedSpeechMs: 600 };

/**
 * Turns the detector's signals into facts. It decides nothing about the assistant: whoever
 * owns barge-in reads these facts (a speech onset is a cue to stop talking, sustained speech a
 * cue that the user really took the turn, a misfire or an end a cue to go on).
 */
export class SpeechFacts {
  readonly options: SpeechFactsOptions;
  /** Capture time of the current segment's first voiced frame. */
  private onsetUs: number | undefined;
  private sustainedReported = false;

  constructor(options: Partial<SpeechFactsOptions> = {}) {
    this.options = { ...SPEECH_FACTS_DEFAULTS, ...options };
  }

  from(signals: readonly SpeechSignal[]): SpeechFact[] {
    const facts: SpeechFact[] = [];
    for (const s of signals) {
      switch (s.type) {
        case 'onset':
          this.onsetUs = s.atUs;
          this.sustainedReported = false;
          facts.push({ type: 'speech.onset', atUs: s.atUs });
          break;
        case 'misfire':
          this.onsetUs = undefined;
          facts.push({ type: 'speech.misfire', atUs: s.atUs });
          break;
        case 'confirmed':
          facts.push({ type: 'speech.start', speechStartUs: s.speechStartUs, inferenceMs: s.inferenceMs });
          this.onsetUs ??= s.speechStartUs;
          this.checkSustained(s.speechStartUs, s.atUs, facts);
          break;
        case 'voiced':
          if (this.onsetUs !== undefined) this.checkSustained(this.onsetUs, s.atUs, facts);
          break;
        case 'end':
          this.onsetUs = undefined;
          facts.push({ type: 'speech.end', speechStartUs: s.speechStartUs, speechEndUs: s.speechEndUs, inferenceMs: s.inferenceMs });
          break;
        default:
          break;
      }
    }
    return facts;
  }

  private checkSustained(speechStartUs: number, atUs: number, facts: SpeechFact[]): void {
    if (this.sustainedReported || this.onsetUs === undefined) return;
    const sustainedMs = (atUs - this.onsetUs) / 1000;
    if (sustainedMs < this.options.sustainedSpeechMs) return;
    this.sustainedReported = true;
    facts.push({ type: 'speech.sustained', speechStartUs, atUs, sustainedMs });
  }
}
