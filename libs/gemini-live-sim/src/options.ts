/**
 * Everything the simulator does differently from a kind, predictable server is one option
 * here, grouped in two presets: `simple` (the original simulator: 1x pacing in even chunks,
 * lock-step transcripts, no limits) and `realistic` (what the real Live API does, per its
 * documentation and what users of other frameworks report). One object, flat so that the
 * HTTP API (`POST /behaviour`) and tests can change any field at run time.
 */
export type SimPreset = 'simple' | 'realistic';
export const SIM_PRESET_NAMES: readonly SimPreset[] = ['simple', 'realistic'];

/**
 * The preset used when none is asked for. Flip this one line to make the simulator realistic
 * by default.
 */
export const DEFAULT_SIM_PRESET: SimPreset = 'realistic';

export interface SimBehaviour {
  // ---- the original knobs ----
  /** From the end of the user's turn to the first audio of the answer. */
  firstAudioDelayMs: number;
  /** Audio pacing when `audioBursts` is off: 1 = real time, 4 = four times faster, 0 = as fast as the socket takes it. 0 also disables pacing of bursts. */
  speed: number;
  /** Length of each audio message when `audioBursts` is off. */
  chunkMs: number;
  /** RMS (full scale 1.0) above which audio counts as speech (`vad: 'rms'`; `vad: 'hangover'` scales it by the start sensitivity). */
  energyThreshold: number;
  /** Speech needed before the `rms` detector calls it a user turn; the `hangover` detector uses the setup's `prefixPaddingMs` (or `prefixPaddingMs` here). */
  minSpeechMs: number;
  /** Default end-of-speech silence when the setup gives none (`rms`); the `hangover` detector derives it from the end sensitivity. */
  silenceMs: number;
  /** espeak-ng voice. */
  voice: string;
  /** Answer turn numbers (1-based) on which declared tools are called. */
  toolCallOnTurns: number[];
  /** Legacy: send goAway this long after a connection opens (0 = never), closing min(10 s, 1/10 of it) later. */
  maxConnectionMs: number;

  // ---- 1. answer audio ----
  /** Bursty, faster than real-time answer audio (several parts per message) instead of even chunks at `speed`. */
  audioBursts: boolean;
  /** Each burst is sent at a random speed in [min, max] × real time. */
  burstSpeedMin: number;
  burstSpeedMax: number;
  /** Each inlineData part carries a random length in [min, max] ms. */
  partMsMin: number;
  partMsMax: number;
  /** A message carries 1..this many parts. */
  maxPartsPerMessage: number;

  // ---- 2. transcripts ----
  /** Output transcription in batches of several words, leading or lagging the audio, instead of word by word with it. */
  batchedOutputTranscript: boolean;
  /** Words per output transcription message, [min, max]. */
  transcriptBatchMin: number;
  transcriptBatchMax: number;
  /** A batch's time relative to the audio it transcribes, random in [-lead, +lag] ms. */
  transcriptLeadMs: number;
  transcriptLagMs: number;
  /** Input transcription a few words at a time while the user speaks, instead of one `[user speech N s]` after the turn. */
  incrementalInputTranscript: boolean;
  /** What the user says, for the input transcription (one entry per user turn, the last one repeats); placeholder words when empty. */
  userTranscripts: string[];

  // ---- 3. end of a turn ----
  /** generationComplete as soon as the last audio is sent, turnComplete when a real-time player would have finished it. */
  generationCompleteEarly: boolean;

  // ---- 4. resumption ----
  /** sessionResumptionUpdate{resumable:false} while generating or while a tool call is pending, a fresh handle between turns. */
  resumableUpdates: boolean;
  /** Between turns, a fresh handle at least this often while the user talks (0 = only after a turn). */
  resumptionUpdateIntervalMs: number;
  /** How long a handle stays valid (the service keeps them 2 h); an expired one on setup closes 1008. */
  handleTtlMs: number;

  // ---- 5. limits ----
  /** Close the connection this long after it opened (0 = never); goAway `goAwayTimeLeftMs` before. */
  connectionLimitMs: number;
  goAwayTimeLeftMs: number;
  /** End an audio session (across resumed connections) after this long unless the setup has contextWindowCompression (0 = never). */
  audioSessionLimitMs: number;

  // ---- 6. tools ----
  /** Call up to this many declared tools in one toolCall (tools named in a text turn, or the first ones on `toolCallOnTurns`). */
  parallelToolCalls: number;
  /** Fill function call args from the declaration's parameter schema (else `{}`). */
  toolCallArgs: boolean;
  /** A declaration without `behavior`: BLOCKING waits for the response, NON_BLOCKING keeps talking. */
  defaultToolBehavior: 'BLOCKING' | 'NON_BLOCKING';
  /** toolCallCancellation{ids} for pending calls when the user interrupts. */
  cancelToolCallsOnInterrupt: boolean;
  /** Close 1008 when audio streams in while a BLOCKING call is pending (as users report for some models). */
  closeOnAudioDuringBlockingCall: boolean;

  // ---- 7. thinking models ----
  /** Thinking-model turns: `true`, `false`, or `auto` (models whose name says native-audio or thinking). */
  thinkingModel: boolean | 'auto';
  /** A thinking model answers an utterance shorter than this with turnComplete{waitingForInput, turnCompleteReason: NEED_MORE_INPUT}. */
  waitForInputBelowMs: number;

  // ---- 8. server activity detection ----
  /** `rms`: per-message RMS with minSpeechMs/silenceMs; `hangover`: 10 ms frames, prefix padding, silence hangover, sensitivities. */
  vad: 'rms' | 'hangover';
  /** prefixPaddingMs when the setup gives none (`hangover`). */
  prefixPaddingMs: number;
  /** Send voiceActivity{voiceActivityType, audioOffset} at detected start and end of speech. */
  voiceActivityEvents: boolean;

  // ---- 9. setup and metadata ----
  /** Unknown setup fields or enum values close 1007 naming the field. */
  validateSetup: boolean;
  /** A model that is not a Live model (name without `live` or `native-audio`) closes 1008. */
  requireLiveModel: boolean;
  /** setupComplete carries a sessionId. */
  sessionIds: boolean;
  /** usageMetadata with promptTokensDetails / responseTokensDetails per modality. */
  usageDetails: boolean;

  /** Seed of the random choices (burst sizes, batches, skew); the same seed repeats a run. */
  seed: number;
}

const SIMPLE: SimBehaviour = {
  firstAudioDelayMs: 600,
  speed: 1,
  chunkMs: 40,
  energyThreshold: 0.02,
  minSpeechMs: 120,
  silenceMs: 800,
  voice: 'en-us',
  toolCallOnTurns: [],
  maxConnectionMs: 0,
  audioBursts: false,
  burstSpeedMin: 2,
  burstSpeedMax: 6,
  partMsMin: 20,
  partMsMax: 200,
  maxPartsPerMessage: 3,
  batchedOutputTranscript: false,
  transcriptBatchMin: 2,
  transcriptBatchMax: 6,
  transcriptLeadMs: 300,
  transcriptLagMs: 600,
  incrementalInputTranscript: false,
  userTranscripts: [],
  generationCompleteEarly: false,
  resumableUpdates: false,
  resumptionUpdateIntervalMs: 0,
  handleTtlMs: 2 * 60 * 60_000,
  connectionLimitMs: 0,
  goAwayTimeLeftMs: 60_000,
  audioSessionLimitMs: 0,
  parallelToolCalls: 1,
  toolCallArgs: false,
  defaultToolBehavior: 'BLOCKING',
  cancelToolCallsOnInterrupt: false,
  closeOnAudioDuringBlockingCall: false,
  thinkingModel: false,
  waitForInputBelowMs: 700,
  vad: 'rms',
  prefixPaddingMs: 100,
  voiceActivityEvents: false,
  validateSetup: false,
  requireLiveModel: false,
  sessionIds: false,
  usageDetails: false,
  seed: 1,
};

const REALISTIC: SimBehaviour = {
  ...SIMPLE,
  audioBursts: true,
  batchedOutputTranscript: true,
  incrementalInputTranscript: true,
  generationCompleteEarly: true,
  resumableUpdates: true,
  resumptionUpdateIntervalMs: 2000,
  connectionLimitMs: 10 * 60_000,
  audioSessionLimitMs: 15 * 60_000,
  parallelToolCalls: 3,
  toolCallArgs: true,
  defaultToolBehavior: 'NON_BLOCKING',
  cancelToolCallsOnInterrupt: true,
  thinkingModel: 'auto',
  vad: 'hangover',
  voiceActivityEvents: true,
  validateSetup: true,
  requireLiveModel: true,
  sessionIds: true,
  usageDetails: true,
};

export const SIM_PRESETS: Readonly<Record<SimPreset, Readonly<SimBehaviour>>> = { simple: SIMPLE, realistic: REALISTIC };

/** A preset with overrides on top (unknown preset names throw). */
export function resolveBehaviour(preset: SimPreset = DEFAULT_SIM_PRESET, overrides: Partial<SimBehaviour> = {}): SimBehaviour {
  const base = SIM_PRESETS[preset];
  if (!base) throw new Error(`unknown simulator preset ${JSON.stringify(preset)} (expected ${SIM_PRESET_NAMES.join(' or ')})`);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...structuredClone(base), ...defined };
}
