import type { EndpointingMode } from '@voicebus/protocol';
import type { SpeechSignal } from './speech-detector.ts';
import type { SpeechEndSource } from './voiced-end.ts';

export interface TurnDetectorOptions {
  /** How the end of a turn is decided (see ENDPOINTING_MODES in the protocol). */
  endpointing: EndpointingMode;
  /** Silence after the last voiced audio that ends the user's turn (`fixed`, `speculative`; `adaptive` before it has learned). */
  endOfTurnSilenceMs: number;
  /** `adaptive`: the silence never goes under this... */
  adaptiveMinMs: number;
  /** ...nor over this. */
  adaptiveMaxMs: number;
  /** `adaptive`: added to the longest usual pause (90th percentile) of this device's user. */
  adaptiveMarginMs: number;
}

export const TURN_DETECTOR_DEFAULTS: TurnDetectorOptions = {
  endpointing: 'fixed',
  endOfTurnSilenceMs: 700,
  adaptiveMinMs: 400,
  adaptiveMaxMs: 1500,
  adaptiveMarginMs: 250,
};

export type TurnSignal =
  | { type: 'turn.start'; turnId: string; speechStartUs: number }
  /** Speculative endpointing: the voice stopped `silenceMs` ago; maybe the end of the turn. */
  | { type: 'turn.pause'; turnId: string; speechEndUs: number; speechEndSource: SpeechEndSource; silenceMs: number; atUs: number }
  /** Speech again after a `turn.pause`: the turn goes on. */
  | { type: 'turn.resume'; turnId: string; atUs: number }
  | { type: 'turn.end'; turnId: string; speechStartUs: number; speechEndUs: number; speechEndSource: SpeechEndSource; silenceMs: number; reason: 'silence' | 'end-of-stream' };

/** Pauses remembered per device for the adaptive silence. */
const PAUSES_KEPT = 20;

/**
 * Groups speech segments into user turns. A turn starts with confirmed speech and ends once
 * the end-of-turn silence of the audio's own timeline has passed since the last voiced audio
 * with no new speech, so a short pause inside a sentence does not end it. While a possible new
 * segment is still unconfirmed (onset), the decision waits for it. Timing on the capture
 * timeline means fast-forwarded audio gives the same turns as real time.
 *
 * `adaptive` learns the silence from this user's pauses: those inside a turn, and the gap
 * before a turn that began right after the previous one ended (the window was too short).
 * `speculative` also reports the first short silence (`pause` from the speech detector) as
 * `turn.pause`, and `turn.resume` when the voice comes back before the turn ended.
 */
export class TurnDetector {
  readonly options: TurnDetectorOptions;
  private readonly newTurnId: () => string;
  private turn: { id: string; speechStartUs: number; speechEndUs: number | undefined; speechEndSource: SpeechEndSource; paused: boolean } | undefined;
  private onsetPending = false;
  private pauses: number[] = [];
  private lastTurnEndUs: number | undefined;

  constructor(newTurnId: () => string, options: Partial<TurnDetectorOptions> = {}) {
    this.newTurnId = newTurnId;
    this.options = { ...TURN_DETECTOR_DEFAULTS, ...options };
  }

  get openTurnId(): string | undefined {
    return this.turn?.id;
  }

  /** The silence that ends a turn now: fixed, or learned from this user's pauses. */
  get endOfTurnSilenceMs(): number {
    const o = this.options;
    if (o.endpointing !== 'adaptive' || this.pauses.length === 0) return o.endOfTurnSilenceMs;
    const sorted = [...this.pauses].sort((a, b) => a - b);
    const usual = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!;
    return Math.min(o.adaptiveMaxMs, Math.max(o.adaptiveMinMs, usual + o.adaptiveMarginMs));
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
            // Speech right after a turn ended: the user had not finished (a learnt pause).
            if (this.lastTurnEndUs !== undefined) this.learnPause(s.speechStartUs - this.lastTurnEndUs, true);
            this.turn = { id: this.newTurnId(), speechStartUs: s.speechStartUs, speechEndUs: undefined, speechEndSource: 'vad', paused: false };
            out.push({ type: 'turn.start', turnId: this.turn.id, speechStartUs: s.speechStartUs });
          } else {
            if (this.turn.speechEndUs !== undefined) this.learnPause(s.speechStartUs - this.turn.speechEndUs, false);
            this.goesOn(s.atUs, out);
          }
          break;
        case 'voiced':
          // Voice again inside the segment after a reported pause: the pause is over.
          if (this.turn?.speechEndUs !== undefined) {
            this.learnPause(s.atUs - this.turn.speechEndUs, false);
            this.goesOn(s.atUs, out);
          }
          break;
        case 'pause':
          if (!this.turn || this.onsetPending) break;
          this.turn.speechEndUs = s.speechEndUs;
          this.turn.speechEndSource = s.endSource;
          if (this.options.endpointing === 'speculative' && !this.turn.paused) {
            this.turn.paused = true;
            out.push({ type: 'turn.pause', turnId: this.turn.id, speechEndUs: s.speechEndUs, speechEndSource: s.endSource, silenceMs: (s.atUs - s.speechEndUs) / 1000, atUs: s.atUs });
          }
          this.check(s.atUs, out);
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

  /** The user went on: not the end; a reported pause is taken back. */
  private goesOn(atUs: number, out: TurnSignal[]): void {
    const t = this.turn!;
    t.speechEndUs = undefined;
    if (t.paused) {
      t.paused = false;
      out.push({ type: 'turn.resume', turnId: t.id, atUs });
    }
  }

  private learnPause(ms: number, afterTurn: boolean): void {
    const pauseMs = ms / 1000;
    // A gap after a turn counts only if it is short enough to be the same thought.
    if (pauseMs <= 0 || (afterTurn && pauseMs > this.options.adaptiveMaxMs)) return;
    this.pauses.push(pauseMs);
    if (this.pauses.length > PAUSES_KEPT) this.pauses.shift();
  }

  private check(nowUs: number, out: TurnSignal[]): void {
    const t = this.turn;
    if (!t || t.speechEndUs === undefined || this.onsetPending) return;
    const silenceMs = this.endOfTurnSilenceMs;
    if ((nowUs - t.speechEndUs) / 1000 >= silenceMs) {
      out.push({ type: 'turn.end', turnId: t.id, speechStartUs: t.speechStartUs, speechEndUs: t.speechEndUs, speechEndSource: t.speechEndSource, silenceMs, reason: 'silence' });
      this.lastTurnEndUs = t.speechEndUs;
      this.turn = undefined;
    }
  }

  /**
   * Goes on with a turn an earlier run of this detector started (a restarted vad, or another
   * instance that took the device over, found it open in the turn history). Its voice may have
   * stopped while nobody listened, so the end-of-turn silence counts from `atUs`, the first
   * audio heard here, unless the voice is heard again.
   */
  adopt(turnId: string, speechStartUs: number, atUs: number): void {
    this.turn = { id: turnId, speechStartUs, speechEndUs: atUs, speechEndSource: 'vad', paused: false };
  }

  /** The device's audio ended: an open turn ends at its last voiced audio. */
  finish(speechEndUs: number | undefined): TurnSignal[] {
    const t = this.turn;
    this.turn = undefined;
    this.onsetPending = false;
    this.lastTurnEndUs = undefined;
    if (!t) return [];
    return [{ type: 'turn.end', turnId: t.id, speechStartUs: t.speechStartUs, speechEndUs: t.speechEndUs ?? speechEndUs ?? t.speechStartUs, speechEndSource: t.speechEndSource, silenceMs: 0, reason: 'end-of-stream' }];
  }
}
