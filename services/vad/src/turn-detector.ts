import type { SpeechSignal } from './speech-detector.ts';
import type { SpeechEndSource } from './voiced-end.ts';

export interface TurnDetectorOptions {
  /** Silence after the last voiced audio that ends the user's turn. */
  endOfTurnSilenceMs: number;
}

export const TURN_DETECTOR_DEFAULTS: TurnDetectorOptions = { endOfTurnSilenceMs: 700 };

export type TurnSignal =
  | { type: 'turn.start'; turnId: string; speechStartUs: number }
  | { type: 'turn.end'; turnId: string; speechStartUs: number; speechEndUs: number; speechEndSource: SpeechEndSource; reason: 'silence' | 'end-of-stream' };

/**
 * Groups speech segments into user turns. A turn starts with confirmed speech and ends once
 * `endOfTurnSilenceMs` of the audio's own timeline has passed since the last voiced audio with
 * no new speech, so a short pause inside a sentence does not end it. While a possible new
 * segment is still unconfirmed (onset), the decision waits for it. Timing on the capture
 * timeline means fast-forwarded audio gives the same turns as real time.
 */
export class TurnDetector {
  readonly options: TurnDetectorOptions;
  private readonly newTurnId: () => string;
  private turn: { id: string; speechStartUs: number; speechEndUs: number | undefined; speechEndSource: SpeechEndSource } | undefined;
  private onsetPending = false;

  constructor(newTurnId: () => string, options: Partial<TurnDetectorOptions> = {}) {
    this.newTurnId = newTurnId;
    this.options = { ...TURN_DETECTOR_DEFAULTS, ...options };
  }

  get openTurnId(): string | undefined {
    return this.turn?.id;
  }

  onSignals(signals: SpeechSignal[]): TurnSignal[] {
    const out: TurnSignal[] = [];
    for (const s of signals) {
      switch (s.type) {
        case 'onset':
          this.onsetPending = true;
          break;
        case 'misfire':
          this.onsetPending = false;
          this.check(s.atUs, out);
          break;
        case 'confirmed':
          this.onsetPending = false;
          if (!this.turn) {
            this.turn = { id: this.newTurnId(), speechStartUs: s.speechStartUs, speechEndUs: undefined, speechEndSource: 'vad' };
            out.push({ type: 'turn.start', turnId: this.turn.id, speechStartUs: s.speechStartUs });
          } else {
            this.turn.speechEndUs = undefined; // the user went on: not the end
          }
          break;
        case 'end':
          if (this.turn) {
            this.turn.speechEndUs = s.speechEndUs;
            this.turn.speechEndSource = s.endSource;
          }
          this.check(s.atUs, out);
          break;
        case 'frame':
          this.check(s.atUs, out);
          break;
        default:
          break;
      }
    }
    return out;
  }

  private check(nowUs: number, out: TurnSignal[]): void {
    const t = this.turn;
    if (!t || t.speechEndUs === undefined || this.onsetPending) return;
    if ((nowUs - t.speechEndUs) / 1000 >= this.options.endOfTurnSilenceMs) {
      out.push({ type: 'turn.end', turnId: t.id, speechStartUs: t.speechStartUs, speechEndUs: t.speechEndUs, speechEndSource: t.speechEndSource, reason: 'silence' });
      this.turn = undefined;
    }
  }

  /** The device's audio ended: an open turn ends at its last voiced audio. */
  finish(speechEndUs: number | undefined): TurnSignal[] {
    const t = this.turn;
    this.turn = undefined;
    this.onsetPending = false;
    if (!t) return [];
    return [{ type: 'turn.end', turnId: t.id, speechStartUs: t.speechStartUs, speechEndUs: t.speechEndUs ?? speechEndUs ?? t.speechStartUs, speechEndSource: t.speechEndSource, reason: 'end-of-stream' }];
  }
}
