import { join } from 'node:path';
import { INTERRUPTION_STRATEGIES, TURN_DETECTION_MODES, type InterruptionStrategy, type TurnDetectionMode } from '@voicebus/protocol';
import { AUDIO_HISTORY_DEFAULTS, booleanFlag, choiceFlag, listFlag, numberFlag, stringFlag, type FlagSpec, type FlagSpecs } from '@voicebus/runtime';
import { GEMINI_LIVE_SESSION_DEFAULTS } from './gemini-live-session.ts';
import { ACTIVITY_HANDLINGS, TURN_COVERAGES, type LiveOptions } from './live-config.ts';
import { SESSION_DEFAULTS } from './session-options.ts';

/** The Live settings (LiveOptions) are flags too: unset, the pack's value (or the model's default) holds. */
export interface SessionFlags extends LiveOptions {
  pack: string;
  prompt: string;
  /** Template variables `name=value` (also PACK_VAR_<NAME> in the environment). */
  var: string[];
  model: string | undefined;
  voice: string | undefined;
  turnDetection: TurnDetectionMode;
  startSensitivity: 'high' | 'low' | undefined;
  endSensitivity: 'high' | 'low' | undefined;
  prefixPaddingMs: number | undefined;
  silenceDurationMs: number | undefined;
  interruption: InterruptionStrategy;
  autoCompleteMs: number;
  watchdogMs: number;
  greeting: string | undefined;
  inactivityMs: number;
  /** How long the server keeps each device's audio.in for a restarted session (0: no history). */
  audioHistoryS: number;
  geminiUrl: string | undefined;
  /** Secret: from the environment only. */
  apiKey: string | undefined;
  transcripts: boolean;
  traceTranscripts: boolean;
}

export const DEFAULT_PACK = join(import.meta.dirname, '..', 'assistant.pack.json');
const SENSITIVITIES = ['high', 'low'] as const;
const d = SESSION_DEFAULTS;
const PACKS = "the pack's (else the model's)";
const MAX_TOKENS = 10_000_000;

/**
 * An on/off setting that may also be left unset, so it can turn a pack's value either way
 * (`booleanFlag` only turns a setting on): `--proactive-audio true|false`.
 */
function switchFlag(description: string, env: string): FlagSpec<boolean | undefined> {
  const { parse, default: _none, ...choice } = choiceFlag(description, ['true', 'false'] as const, { env, defaultText: PACKS });
  return { ...choice, parse: (raw) => parse(raw, undefined) === 'true' };
}

/** The session service's settings: each flag is named after the option it sets. */
export const SESSION_FLAGS: FlagSpecs<SessionFlags> = {
  pack: stringFlag('PromptPack JSON file', { env: 'PROMPT_PACK', default: DEFAULT_PACK }),
  prompt: stringFlag('prompt of the pack to use', { env: 'PROMPT_NAME', default: 'voice' }),
  var: listFlag('template variable name=value (repeatable; also PACK_VAR_<NAME>)'),
  model: stringFlag('override the pack\'s model', { env: 'GEMINI_MODEL', defaultText: "the pack's model" }),
  voice: stringFlag('override the pack\'s voice', { env: 'GEMINI_VOICE', defaultText: "the pack's voice" }),
  turnDetection: choiceFlag('local: the VAD service decides turns; server: Gemini does', TURN_DETECTION_MODES, { env: 'TURN_DETECTION', default: 'local' }),
  startSensitivity: choiceFlag('server mode: start-of-speech sensitivity', SENSITIVITIES, { env: 'SERVER_VAD_START_SENSITIVITY', defaultText: "Gemini's own" }),
  endSensitivity: choiceFlag('server mode: end-of-speech sensitivity', SENSITIVITIES, { env: 'SERVER_VAD_END_SENSITIVITY', defaultText: "Gemini's own" }),
  prefixPaddingMs: numberFlag('server mode: speech needed before a start is committed', { env: 'SERVER_VAD_PREFIX_PADDING_MS', min: 0, max: 10_000, integer: true, defaultText: "Gemini's own" }),
  silenceDurationMs: numberFlag('server mode: silence that ends the user\'s turn', { env: 'SERVER_VAD_SILENCE_MS', min: 0, max: 10_000, integer: true, defaultText: "Gemini's own" }),
  interruption: choiceFlag('what user speech does to an answer in progress', INTERRUPTION_STRATEGIES, { env: 'INTERRUPTION_STRATEGY', default: d.interruption }),
  autoCompleteMs: numberFlag('complete a model turn that stops without turnComplete (0 = off)', { env: 'AUTO_COMPLETE_MS', default: d.autoCompleteMs, min: 0, max: 600_000, integer: true }),
  watchdogMs: numberFlag('reconnect when Gemini stays silent this long after a turn', { env: 'WATCHDOG_MS', default: GEMINI_LIVE_SESSION_DEFAULTS.watchdogMs, min: 0, max: 600_000, integer: true }),
  greeting: stringFlag('open each session by asking the model this (e.g. "Hello! Please introduce yourself briefly.")', { env: 'GREETING', defaultText: 'none' }),
  inactivityMs: numberFlag('end a session after this long without user speech (0 = never)', { env: 'INACTIVITY_MS', default: d.inactivityMs, min: 0, max: 86_400_000, integer: true }),
  audioHistoryS: numberFlag('keep every device\'s microphone this long in a JetStream memory stream, so a session restarted mid-turn still answers the turn (0 = off)', { env: 'AUDIO_HISTORY_S', default: AUDIO_HISTORY_DEFAULTS.maxAgeMs / 1000, min: 0, max: 600, integer: true }),
  geminiUrl: stringFlag('Gemini Live simulator base URL (unset: Google, with GEMINI_API_KEY)', { env: 'GEMINI_LIVE_URL' }),
  apiKey: stringFlag('Gemini API key', { env: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], envOnly: true }),
  transcripts: booleanFlag('ask for input and output transcriptions', { default: true }),
  traceTranscripts: booleanFlag('add transcript text to trace spans (off: privacy)', { env: 'TRACE_TRANSCRIPTS' }),
  activityHandling: choiceFlag('server mode: whether the user\'s speech interrupts the answer', ACTIVITY_HANDLINGS, { env: 'GEMINI_ACTIVITY_HANDLING', defaultText: PACKS }),
  turnCoverage: choiceFlag('which input makes the user\'s turn', TURN_COVERAGES, { env: 'GEMINI_TURN_COVERAGE', defaultText: PACKS }),
  thinkingBudget: numberFlag('thinking tokens (0 off, -1 the model decides)', { env: 'GEMINI_THINKING_BUDGET', min: -1, max: MAX_TOKENS, integer: true, defaultText: PACKS }),
  includeThoughts: switchFlag('include the model\'s thoughts in its answers', 'GEMINI_INCLUDE_THOUGHTS'),
  proactiveAudio: switchFlag('let the model stay silent when speech is not meant for it', 'GEMINI_PROACTIVE_AUDIO'),
  affectiveDialog: switchFlag('let the model adapt its tone to the user\'s emotion', 'GEMINI_AFFECTIVE_DIALOG'),
  languageCode: stringFlag('language of the speech (BCP-47, e.g. en-US)', { env: 'GEMINI_LANGUAGE_CODE', defaultText: PACKS }),
  compressionTriggerTokens: numberFlag('context compression starts at this many tokens (compression is always on)', { env: 'GEMINI_COMPRESSION_TRIGGER_TOKENS', min: 1, max: MAX_TOKENS, integer: true, defaultText: PACKS }),
  compressionTargetTokens: numberFlag('context compression keeps this many tokens (below the trigger)', { env: 'GEMINI_COMPRESSION_TARGET_TOKENS', min: 1, max: MAX_TOKENS, integer: true, defaultText: "the pack's (else half the trigger)" }),
  googleSearch: switchFlag('ground answers with Google Search', 'GEMINI_GOOGLE_SEARCH'),
};

/** The Live settings the flags set (the others stay undefined, so the pack's hold). */
export function liveOptionsOf(flags: SessionFlags): Partial<LiveOptions> {
  return {
    activityHandling: flags.activityHandling,
    turnCoverage: flags.turnCoverage,
    thinkingBudget: flags.thinkingBudget,
    includeThoughts: flags.includeThoughts,
    proactiveAudio: flags.proactiveAudio,
    affectiveDialog: flags.affectiveDialog,
    languageCode: flags.languageCode,
    compressionTriggerTokens: flags.compressionTriggerTokens,
    compressionTargetTokens: flags.compressionTargetTokens,
    googleSearch: flags.googleSearch,
  };
}
