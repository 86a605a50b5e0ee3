import { ENDPOINTING_MODES } from '@voicebus/protocol';
import { choiceFlag, numberFlag, STREAM_HISTORY_DEFAULTS, type FlagSpecs } from '@voicebus/runtime';
import { INFERENCE_THREADS, type InferenceThread } from './engines/batched-silero-engine.ts';
import { SILERO_BATCH_DEFAULTS } from './engines/silero-batcher.ts';
import { VAD_ENGINES, type VadEngineName } from './engines/vad-engine.ts';
import { SPEECH_DETECTOR_DEFAULTS, type SpeechDetectorOptions } from './speech-detector.ts';
import { SPEECH_FACTS_DEFAULTS, type SpeechFactsOptions } from './speech-facts.ts';
import { TURN_DETECTOR_DEFAULTS, type TurnDetectorOptions } from './turn-detector.ts';
import { SPEECH_END_SOURCES, VOICED_END_DEFAULTS } from './voiced-end.ts';

export interface VadFlags extends Omit<SpeechDetectorOptions, 'voicedEnd' | 'pauseMs'>, TurnDetectorOptions, SpeechFactsOptions {
  engine: VadEngineName;
  mailboxCapacity: number;
  /** Seconds of every device's turn events kept on the server for a restarted vad (0 = off). */
  turnHistoryS: number;
  voicedEndMarginDb: number;
  batch: number;
  inferenceThread: InferenceThread;
  speculativeSilenceMs: number;
}

/** Adaptive endpointing hears pauses from this short on (the segment itself only ends after the redemption). */
const ADAPTIVE_PAUSE_MS = 100;

/** The speech detector's options the flags give: pauses are reported as the endpointing needs them. */
export function speechOptions(flags: VadFlags): Partial<SpeechDetectorOptions> {
  const pauseMs = flags.endpointing === 'speculative' ? flags.speculativeSilenceMs : flags.endpointing === 'adaptive' ? ADAPTIVE_PAUSE_MS : 0;
  return { ...flags, pauseMs, voicedEnd: { marginDb: flags.voicedEndMarginDb } };
}

const d = SPEECH_DETECTOR_DEFAULTS;
const t = TURN_DETECTOR_DEFAULTS;

/** The VAD service's settings: each flag is named after the option it sets. */
export const VAD_FLAGS: FlagSpecs<VadFlags> = {
  engine: choiceFlag('VAD engine', VAD_ENGINES, { env: 'VAD_ENGINE', default: 'silero-v6' }),
  positiveSpeechThreshold: numberFlag('speech probability that makes a frame voiced', { env: 'VAD_POSITIVE_THRESHOLD', default: d.positiveSpeechThreshold, min: 0, max: 1 }),
  negativeSpeechThreshold: numberFlag('probability under which a frame is silence', { env: 'VAD_NEGATIVE_THRESHOLD', default: d.negativeSpeechThreshold, min: 0, max: 1 }),
  minSpeechMs: numberFlag('shorter speech is a misfire', { env: 'VAD_MIN_SPEECH_MS', default: d.minSpeechMs, min: 0, max: 5000 }),
  preSpeechPadMs: numberFlag('audio before speech the session also sends', { env: 'VAD_PRE_SPEECH_PAD_MS', default: d.preSpeechPadMs, min: 0, max: 2000 }),
  redemptionMs: numberFlag('silence that ends a speech segment (hangover)', { env: 'VAD_REDEMPTION_MS', default: d.redemptionMs, min: 0, max: 5000 }),
  minVolume: numberFlag('frames under this RMS count as silence', { env: 'VAD_MIN_VOLUME', default: d.minVolume, min: 0, max: 1 }),
  speechEnd: choiceFlag('where speech ends: energy = the last audio above the noise floor, vad = the model\'s last voiced frame (trails the voice)', SPEECH_END_SOURCES, { env: 'VAD_SPEECH_END', default: d.speechEnd }),
  voicedEndMarginDb: numberFlag('speech-end energy: dB over the device\'s noise floor that counts as voice', { env: 'VAD_VOICED_END_MARGIN_DB', default: VOICED_END_DEFAULTS.marginDb, min: 0, max: 40 }),
  endpointing: choiceFlag('how a turn\'s end is decided: fixed silence, adaptive (learns the user\'s pauses), speculative (the model starts after a short silence, playback holds it until the fixed one)', ENDPOINTING_MODES, { env: 'VAD_ENDPOINTING', default: t.endpointing }),
  endOfTurnSilenceMs: numberFlag('silence that ends the user\'s turn', { env: 'VAD_END_OF_TURN_MS', default: t.endOfTurnSilenceMs, min: 100, max: 10_000 }),
  speculativeSilenceMs: numberFlag('speculative endpointing: silence after which the model may start', { env: 'VAD_SPECULATIVE_MS', default: 250, min: 50, max: 5000 }),
  adaptiveMinMs: numberFlag('adaptive endpointing: shortest end-of-turn silence', { env: 'VAD_ADAPTIVE_MIN_MS', default: t.adaptiveMinMs, min: 100, max: 10_000 }),
  adaptiveMaxMs: numberFlag('adaptive endpointing: longest end-of-turn silence', { env: 'VAD_ADAPTIVE_MAX_MS', default: t.adaptiveMaxMs, min: 100, max: 10_000 }),
  adaptiveMarginMs: numberFlag('adaptive endpointing: silence beyond the user\'s usual longest pause', { env: 'VAD_ADAPTIVE_MARGIN_MS', default: t.adaptiveMarginMs, min: 0, max: 5000 }),
  sustainedSpeechMs: numberFlag('voiced speech this long is reported as sustained (the pause strategy interrupts on it)', { env: 'VAD_SUSTAINED_SPEECH_MS', default: SPEECH_FACTS_DEFAULTS.sustainedSpeechMs, min: 0, max: 10_000 }),
  batch: numberFlag('most devices\' Silero v5/v6 frames in one inference call (1 = a call per frame)', { env: 'VAD_BATCH', default: SILERO_BATCH_DEFAULTS.maxBatch, min: 1, max: 1024, integer: true }),
  inferenceThread: choiceFlag('where batched Silero runs: worker = a thread of its own (the event loop that receives audio is never blocked by a call), main = the event loop\'s thread', INFERENCE_THREADS, { env: 'VAD_INFERENCE_THREAD', default: 'main' }),
  turnHistoryS: numberFlag('keep every device\'s turn events this long in a JetStream memory stream, so a vad restarted mid-turn goes on with the turn and hears, from the session\'s audio history, what was said while none listened (0 = off)', { env: 'TURN_HISTORY_S', default: STREAM_HISTORY_DEFAULTS.maxAgeMs / 1000, min: 0, max: 600, integer: true }),
  mailboxCapacity: numberFlag('queued chunks per device before the oldest audio is dropped', { env: 'VAD_MAILBOX', default: 250, min: 1, max: 100_000, integer: true }),
};

/** The energy engine's own defaults (start 0.2 s, stop 0.8 s, min volume 0.01), where not set: it needs longer windows than Silero. */
export const ENERGY_ENGINE_DEFAULTS = { minSpeechMs: 200, redemptionMs: 800, minVolume: 0.01 } as const;
