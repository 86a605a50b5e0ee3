import { DEFAULT_CHUNK_MS } from '@voicebus/protocol';
import { numberFlag, stringFlag, type FlagSpecs } from '@voicebus/runtime';
import { JITTER_BUFFER_DEFAULTS } from './jitter-buffer.ts';
import { ANSWER_HISTORY_DEFAULTS } from './answer-history.ts';

export interface PlaybackFlags {
  sink: string;
  jitterTargetMs: number;
  frameMs: number;
  soxBin: string;
  mailboxCapacity: number;
  answerHistoryS: number;
}

/** The playback service's settings: each flag is named after the option it sets. */
export const PLAYBACK_FLAGS: FlagSpecs<PlaybackFlags> = {
  sink: stringFlag('speaker, null or wav:DIR (DIR/<device>/assistant.wav)', { env: 'PLAYBACK_SINK', default: 'wav:out' }),
  jitterTargetMs: numberFlag('audio buffered before a turn starts playing', { env: 'JITTER_TARGET_MS', default: JITTER_BUFFER_DEFAULTS.targetMs, min: 0, max: 2000 }),
  frameMs: numberFlag('playout frame', { env: 'PLAYOUT_FRAME_MS', default: DEFAULT_CHUNK_MS, min: 5, max: 100, integer: true }),
  soxBin: stringFlag('the sox binary the speaker sink runs', { env: 'SOX_BIN', default: 'sox' }),
  // The model sends audio faster than real time, in bursts: a whole answer may be queued at once.
  mailboxCapacity: numberFlag('queued messages per device before the oldest audio is dropped', { env: 'PLAYBACK_MAILBOX', default: 3000, min: 1, max: 100_000, integer: true }),
  answerHistoryS: numberFlag('keep every device\'s answers this long in a JetStream memory stream, so a playback restarted in the middle of one plays the rest (0 = off)', { env: 'ANSWER_HISTORY_S', default: ANSWER_HISTORY_DEFAULTS.maxAgeMs / 1000, min: 0, max: 600, integer: true }),
};
