import type { InterruptionStrategy, TurnDetectionMode } from '@voicebus/protocol';

export interface SessionOptions {
  interruption: InterruptionStrategy;
  turnDetection: TurnDetectionMode;
  /** Model name, for the spans. */
  model: string;
  /** Open each session by asking the model this. */
  greeting: string | undefined;
  /** Complete a model turn that stops sending without turnComplete after this long (0 = off). */
  autoCompleteMs: number;
  /** End the session after this long without user speech after the last answer (0 = never). */
  inactivityMs: number;
  /** Audio before the user's first voiced sample that is sent too (pre-roll). */
  preRollMs: number;
  /** How long a retired answer may take to be closed by the model before it is closed here. */
  retiredGraceMs: number;
  /** Put transcript text into spans (off by default: traces are not the place for what people say). */
  traceTranscripts: boolean;
}

export const SESSION_DEFAULTS: SessionOptions = {
  interruption: 'immediate',
  turnDetection: 'local',
  model: 'unknown',
  greeting: undefined,
  autoCompleteMs: 3000,
  inactivityMs: 30_000,
  preRollMs: 300,
  retiredGraceMs: 2000,
  traceTranscripts: false,
};
