import type { PlaybackEvent } from '@voicebus/protocol';

export const INTERRUPTION_STRATEGIES = ['immediate', 'pause', 'deferred', 'ignore'] as const;
export type InterruptionStrategy = (typeof INTERRUPTION_STRATEGIES)[number];

export function isInterruptionStrategy(value: unknown): value is InterruptionStrategy {
  return typeof value === 'string' && (INTERRUPTION_STRATEGIES as readonly string[]).includes(value);
}

/** What the arbiter asks the VAD actor to publish on the control subject. */
export type BargeInCommand =
  | { type: 'control.interrupt'; turnId: string | undefined; strategy: InterruptionStrategy }
  | { type: 'control.pause'; turnId: string | undefined }
  | { type: 'control.resume'; turnId: string | undefined };

export interface BargeInOptions {
  /** `pause`: user speech must last this long (capture timeline) to confirm an interruption. */
  minInterruptionMs: number;
}

export const BARGE_IN_DEFAULTS: BargeInOptions = { minInterruptionMs: 600 };

/**
 * Decides, per device, when user speech interrupts the assistant. It knows whether the
 * assistant is audible (playback events) and which strategy the session runs, and turns the
 * detector's speech signals into control commands:
 * - immediate: the first voiced frame while the assistant is audible interrupts at once (speed
 *   matters most: every millisecond here is heard as the assistant talking over the user);
 * - pause: the first voiced frame pauses playback; speech that lasts `minInterruptionMs`
 *   interrupts, speech that stops sooner (a cough, a "mm-hm") resumes where it paused;
 * - deferred: confirmed speech asks the session to interrupt at the next sentence boundary;
 * - ignore: the assistant always finishes.
 * At most one interruption per assistant turn.
 */
export class BargeInArbiter {
  readonly options: BargeInOptions;
  strategy: InterruptionStrategy = 'immediate';
  private audibleTurn: string | undefined;
  private interruptedTurn: string | undefined;
  /** Capture time of the voiced frame that paused playback (pause strategy). */
  private pausedAtUs: number | undefined;

  constructor(options: Partial<BargeInOptions> = {}) {
    this.options = { ...BARGE_IN_DEFAULTS, ...options };
  }

  /** The assistant turn the user currently hears, if any. */
  get assistantAudible(): boolean {
    return this.audibleTurn !== undefined;
  }

  get assistantTurnId(): string | undefined {
    return this.audibleTurn;
  }

  onPlayback(event: PlaybackEvent): void {
    switch (event.type) {
      case 'playback.started':
        this.audibleTurn = event.turnId;
        this.pausedAtUs = undefined;
        break;
      case 'playback.finished':
      case 'playback.flushed':
        if (!event.turnId || event.turnId === this.audibleTurn) {
          this.audibleTurn = undefined;
          this.pausedAtUs = undefined;
        }
        break;
      default:
        break;
    }
  }

  /** First voiced frame of a speech segment (before it is confirmed as speech). */
  onSpeechOnset(atUs: number): BargeInCommand[] {
    if (!this.canInterrupt()) return [];
    if (this.strategy === 'immediate') return [this.interrupt()];
    if (this.strategy === 'pause' && this.pausedAtUs === undefined) {
      this.pausedAtUs = atUs;
      return [{ type: 'control.pause', turnId: this.audibleTurn }];
    }
    return [];
  }

  /** Speech confirmed (lasted the detector's minimum speech duration). */
  onSpeechConfirmed(): BargeInCommand[] {
    if (!this.canInterrupt()) return [];
    if (this.strategy === 'deferred') return [this.interrupt()];
    return [];
  }

  /** Voiced audio keeps coming; `nowUs` is the capture time reached. */
  onSpeechContinues(nowUs: number): BargeInCommand[] {
    if (this.strategy !== 'pause' || this.pausedAtUs === undefined || !this.canInterrupt()) return [];
    if ((nowUs - this.pausedAtUs) / 1000 >= this.options.minInterruptionMs) {
      this.pausedAtUs = undefined;
      return [this.interrupt()];
    }
    return [];
  }

  /** The speech segment ended (or turned out to be a misfire). */
  onSpeechStopped(): BargeInCommand[] {
    if (this.strategy === 'pause' && this.pausedAtUs !== undefined) {
      this.pausedAtUs = undefined;
      return [{ type: 'control.resume', turnId: this.audibleTurn }];
    }
    return [];
  }

  private canInterrupt(): boolean {
    return this.strategy !== 'ignore' && this.audibleTurn !== undefined && this.interruptedTurn !== this.audibleTurn;
  }

  private interrupt(): BargeInCommand {
    this.interruptedTurn = this.audibleTurn;
    return { type: 'control.interrupt', turnId: this.audibleTurn, strategy: this.strategy };
  }
}
