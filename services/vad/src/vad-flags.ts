import { choiceFlag, numberFlag, type FlagSpecs } from '@voicebus/runtime';
import { SILERO_BATCH_DEFAULTS } from './engines/silero-batcher.ts';
import { VAD_ENGINES, type VadEngineName } from './engines/vad-engine.ts';
import { SPEECH_DETECTOR_DEFAULTS, type SpeechDetectorOptions } from './speech-detector.ts';
import { SPEECH_FACTS_DEFAULTS, type SpeechFactsOptions } from './speech-facts.ts';
import { TURN_DETECTOR_DEFAULTS, type TurnDetectorOptions } from './turn-detector.ts';

export interface VadFlags extends SpeechDetectorOptions, TurnDetectorOptions, SpeechFactsOptions {
  engine: VadEngineName;
  mailboxCapacity: number;
  batch: number;
}

const d = SPEECH_DETECTOR_DEFAULTS;

/** The VAD service's settings: each flag is named after the option it sets. */
export const VAD_FLAGS: FlagSpecs<VadFlags> = {
  engine: choiceFlag('VAD engine', VAD_ENGINES, { env: 'VAD_ENGINE', default: 'silero-v6' }),
  positiveSpeechThreshold: numberFlag('speech probability that makes a frame voiced', { env: 'VAD_POSITIVE_THRESHOLD', default: d.positiveSpeechThreshold, min: 0, max: 1 }),
  negativeSpeechThreshold: numberFlag('probability under which a frame is silence', { env: 'VAD_NEGATIVE_THRESHOLD', default: d.negativeSpeechThreshold, min: 0, max: 1 }),
  minSpeechMs: numberFlag('shorter speech is a misfire', { env: 'VAD_MIN_SPEECH_MS', default: d.minSpeechMs, min: 0, max: 5000 }),
  preSpeechPadMs: numberFlag('audio before speech the session also sends', { env: 'VAD_PRE_SPEECH_PAD_MS', default: d.preSpeechPadMs, min: 0, max: 2000 }),
  redemptionMs: numberFlag('silence that ends a speech segment (hangover)', { env: 'VAD_REDEMPTION_MS', default: d.redemptionMs, min: 0, max: 5000 }),
  minVolume: numberFlag('frames under this RMS count as silence', { env: 'VAD_MIN_VOLUME', default: d.minVolume, min: 0, max: 1 }),
  endOfTurnSilenceMs: numberFlag('silence that ends the user\'s turn', { env: 'VAD_END_OF_TURN_MS', default: TURN_DETECTOR_DEFAULTS.endOfTurnSilenceMs, min: 100, max: 10_000 }),
  sustainedSpeechMs: numberFlag('voiced speech this long is reported as sustained (the pause strategy interrupts on it)', { env: 'VAD_SUSTAINED_SPEECH_MS', default: SPEECH_FACTS_DEFAULTS.sustainedSpeechMs, min: 0, max: 10_000 }),
  batch: numberFlag('most devices\' Silero v5/v6 frames in one inference call (1 = a call per frame)', { env: 'VAD_BATCH', default: SILERO_BATCH_DEFAULTS.maxBatch, min: 1, max: 1024, integer: true }),
  mailboxCapacity: numberFlag('queued chunks per device before the oldest audio is dropped', { env: 'VAD_MAILBOX', default: 250, min: 1, max: 100_000, integer: true }),
};

/** The energy engine's own defaults (start 0.2 s, stop 0.8 s, min volume 0.01), where not set: it needs longer windows than Silero. */
export const ENERGY_ENGINE_DEFAULTS = { minSpeechMs: 200, redemptionMs: 800, minVolume: 0.01 } as const;
