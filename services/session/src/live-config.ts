import { ActivityHandling, Behavior, Modality, TurnCoverage, type FunctionDeclaration, type LiveConnectConfig, type Tool } from '@google/genai';
import type { TurnDetectionMode } from '@voicebus/protocol';
import type { RenderedPrompt } from './prompt-pack.ts';

export interface ServerVadSettings {
  startSensitivity: 'high' | 'low' | undefined;
  endSensitivity: 'high' | 'low' | undefined;
  prefixPaddingMs: number | undefined;
  silenceDurationMs: number | undefined;
}

export interface GeminiEndpoint {
  apiKey: string;
  /** Simulator (or proxy) base URL; undefined talks to Google. */
  baseUrl: string | undefined;
}

export const ACTIVITY_HANDLINGS = [ActivityHandling.START_OF_ACTIVITY_INTERRUPTS, ActivityHandling.NO_INTERRUPTION] as const;
export const TURN_COVERAGES = [TurnCoverage.TURN_INCLUDES_ONLY_ACTIVITY, TurnCoverage.TURN_INCLUDES_ALL_INPUT, TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO] as const;

/**
 * The Live API settings a user chooses (from the pack's `live` object, then flags). Each one
 * left undefined is not sent, so Gemini uses its own default for the model; what is set is
 * sent as it is, and `validateLiveSettings` refuses what the model would reject.
 */
export interface LiveOptions {
  /** What the user's speech does to an answer (server turn detection): barge-in, or nothing. */
  activityHandling: (typeof ACTIVITY_HANDLINGS)[number] | undefined;
  /** Which input makes the user's turn: only activity, all input, or audio activity and all video. */
  turnCoverage: (typeof TURN_COVERAGES)[number] | undefined;
  /** Thinking tokens (-1: the model decides, 0: no thinking). */
  thinkingBudget: number | undefined;
  /** Ask for the model's thoughts in its answers. */
  includeThoughts: boolean | undefined;
  /** The model may stay silent when speech is not meant for it. */
  proactiveAudio: boolean | undefined;
  /** The model adapts its tone to the user's emotion. */
  affectiveDialog: boolean | undefined;
  /** Language of the speech (BCP-47, e.g. en-US). */
  languageCode: string | undefined;
  /** Context compression starts at this many tokens (Gemini's default when unset). */
  compressionTriggerTokens: number | undefined;
  /** ... and keeps this many (half of the trigger when unset). */
  compressionTargetTokens: number | undefined;
  /** Grounding with Google Search (a built-in tool). */
  googleSearch: boolean | undefined;
}

/** Nothing set: today's setup (compression on with Gemini's thresholds). */
export const LIVE_OPTION_DEFAULTS: LiveOptions = {
  activityHandling: undefined,
  turnCoverage: undefined,
  thinkingBudget: undefined,
  includeThoughts: undefined,
  proactiveAudio: undefined,
  affectiveDialog: undefined,
  languageCode: undefined,
  compressionTriggerTokens: undefined,
  compressionTargetTokens: undefined,
  googleSearch: undefined,
};

/** Later layers win where they set a value (defaults, then the pack, then flags). */
export function mergeLiveOptions(...layers: Partial<LiveOptions>[]): LiveOptions {
  const out: LiveOptions = { ...LIVE_OPTION_DEFAULTS };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer) as [keyof LiveOptions, never][]) if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface LiveSettings {
  model: string;
  prompt: RenderedPrompt;
  voice: string | undefined;
  turnDetection: TurnDetectionMode;
  serverVad: ServerVadSettings;
  transcripts: boolean;
  options: LiveOptions;
}

/** The function declarations of the prompt's tools, each with its `behavior` when the pack gives one. */
export function functionDeclarations(prompt: RenderedPrompt): FunctionDeclaration[] {
  return prompt.tools.map((t) => ({
    name: t.name,
    description: t.description,
    parametersJsonSchema: t.parameters,
    ...(t.behavior ? { behavior: Behavior[t.behavior] } : {}),
  }));
}

/** The setup the session sends, built from the prompt pack and the flags. */
export function liveConfig(settings: LiveSettings, resumptionHandle: string | undefined): LiveConnectConfig {
  const { prompt, serverVad } = settings;
  const o = settings.options;
  const voice = settings.voice ?? prompt.voice;
  const sens = (v: 'high' | 'low' | undefined, kind: 'START' | 'END') => (v ? (`${kind}_SENSITIVITY_${v.toUpperCase()}` as never) : undefined);
  const speechConfig = {
    ...(voice ? { voiceConfig: { prebuiltVoiceConfig: { voiceName: voice } } } : {}),
    ...(o.languageCode ? { languageCode: o.languageCode } : {}),
  };
  const thinkingConfig = {
    ...(o.thinkingBudget !== undefined ? { thinkingBudget: o.thinkingBudget } : {}),
    ...(o.includeThoughts !== undefined ? { includeThoughts: o.includeThoughts } : {}),
  };
  const tools: Tool[] = [
    ...(prompt.tools.length ? [{ functionDeclarations: functionDeclarations(prompt) }] : []),
    ...(o.googleSearch ? [{ googleSearch: {} }] : []),
  ];
  const config: LiveConnectConfig = {
    responseModalities: [Modality.AUDIO],
    systemInstruction: prompt.systemInstruction,
    ...(Object.keys(speechConfig).length ? { speechConfig } : {}),
    ...(prompt.temperature !== undefined ? { temperature: prompt.temperature } : {}),
    ...(prompt.maxOutputTokens !== undefined ? { maxOutputTokens: prompt.maxOutputTokens } : {}),
    ...(prompt.topP !== undefined ? { topP: prompt.topP } : {}),
    ...(prompt.topK !== undefined ? { topK: prompt.topK } : {}),
    ...(Object.keys(thinkingConfig).length ? { thinkingConfig } : {}),
    ...(o.affectiveDialog !== undefined ? { enableAffectiveDialog: o.affectiveDialog } : {}),
    ...(o.proactiveAudio !== undefined ? { proactivity: { proactiveAudio: o.proactiveAudio } } : {}),
    ...(settings.transcripts ? { inputAudioTranscription: {}, outputAudioTranscription: {} } : {}),
    realtimeInputConfig: {
      automaticActivityDetection: settings.turnDetection === 'local'
        ? { disabled: true }
        : {
            disabled: false,
            ...(serverVad.startSensitivity ? { startOfSpeechSensitivity: sens(serverVad.startSensitivity, 'START') } : {}),
            ...(serverVad.endSensitivity ? { endOfSpeechSensitivity: sens(serverVad.endSensitivity, 'END') } : {}),
            ...(serverVad.prefixPaddingMs !== undefined ? { prefixPaddingMs: serverVad.prefixPaddingMs } : {}),
            ...(serverVad.silenceDurationMs !== undefined ? { silenceDurationMs: serverVad.silenceDurationMs } : {}),
          },
      ...(o.activityHandling ? { activityHandling: o.activityHandling } : {}),
      ...(o.turnCoverage ? { turnCoverage: o.turnCoverage } : {}),
    },
    sessionResumption: resumptionHandle ? { handle: resumptionHandle } : {},
    // Audio sessions end after 15 minutes unless the context window slides: always on.
    // Token counts are int64, which the API's JSON carries as strings.
    contextWindowCompression: {
      ...(o.compressionTriggerTokens !== undefined ? { triggerTokens: String(o.compressionTriggerTokens) } : {}),
      slidingWindow: o.compressionTargetTokens !== undefined ? { targetTokens: String(o.compressionTargetTokens) } : {},
    },
    ...(tools.length ? { tools } : {}),
  };
  return config;
}

/** A combination of settings the model would reject: said before connecting. */
export class LiveSettingsError extends Error {
  override name = 'LiveSettingsError' as const;
  readonly problems: string[];
  constructor(model: string, problems: string[]) {
    super(`model ${model}: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/**
 * What a model family accepts, from its documentation (ai.google.dev/gemini-api/docs/models/<model>
 * and its migration notes, September 2026). `false` means the model rejects the setting.
 */
interface ModelCapabilities {
  family: string;
  /** thinkingConfig.thinkingBudget / includeThoughts */
  thinkingBudget: boolean;
  /** enableAffectiveDialog */
  affectiveDialog: boolean;
  /** proactivity.proactiveAudio: 'always' = always on, setting it false is an error. */
  proactiveAudio: boolean | 'always';
  /** behavior NON_BLOCKING function declarations (asynchronous function calls). */
  nonBlockingTools: boolean;
  /** Whether a declaration without `behavior` is NON_BLOCKING (then `scheduling` applies). */
  nonBlockingByDefault: boolean;
}

const MODEL_FAMILIES: { matches: (model: string) => boolean; caps: ModelCapabilities }[] = [
  // gemini-3.8-live: "omit thinking_level (or thinking_config)"; NON_BLOCKING is the default
  // behaviour; proactive audio is always on ("proactive_audio: false returns an error");
  // affective dialog was removed from the API.
  { matches: (m) => m.startsWith('gemini-3.8-live'), caps: { family: 'gemini-3.8-live', thinkingBudget: false, affectiveDialog: false, proactiveAudio: 'always', nonBlockingTools: true, nonBlockingByDefault: true } },
  // gemini-3.1-flash-live-preview (legacy): thinkingLevel instead of thinkingBudget; proactive
  // audio and affective dialog not supported ("remove any configuration"); function calls
  // are synchronous only.
  { matches: (m) => m.startsWith('gemini-3.1-flash-live'), caps: { family: 'gemini-3.1-flash-live', thinkingBudget: false, affectiveDialog: false, proactiveAudio: false, nonBlockingTools: false, nonBlockingByDefault: false } },
  // gemini-2.5-flash-native-audio-* (and Vertex AI's gemini-live-2.5-flash-native-audio):
  // thinkingBudget (dynamic by default, 0 turns it off), affective dialog and proactive audio
  // optional, asynchronous (NON_BLOCKING) function calls allowed.
  { matches: (m) => /^gemini(-live)?-2\.5-flash(-preview)?-native-audio/.test(m), caps: { family: 'gemini-2.5-flash-native-audio', thinkingBudget: true, affectiveDialog: true, proactiveAudio: true, nonBlockingTools: true, nonBlockingByDefault: false } },
];

/** The documented capabilities of a model, or undefined for a model this code does not know. */
export function modelCapabilities(model: string): ModelCapabilities | undefined {
  const name = model.replace(/^models\//, '');
  return MODEL_FAMILIES.find((f) => f.matches(name))?.caps;
}

const LANGUAGE_CODE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/**
 * Refuses (throws `LiveSettingsError` listing every problem) a combination the model would
 * reject or that means nothing, before anything connects; returns warnings for what is only
 * doubtful. An unknown model is a warning, not an error: Google adds models, and the
 * model-independent rules still apply to it.
 */
export function validateLiveSettings(model: string, settings: Pick<LiveSettings, 'options' | 'prompt' | 'turnDetection'>): { warnings: string[] } {
  const o = settings.options;
  const problems: string[] = [];
  const warnings: string[] = [];
  const caps = modelCapabilities(model);
  if (!caps) warnings.push(`model ${model} is not one this session knows: its Live settings are sent unchecked`);

  // Model-independent rules.
  if (o.thinkingBudget !== undefined && (!Number.isInteger(o.thinkingBudget) || o.thinkingBudget < -1)) {
    problems.push(`thinkingBudget ${o.thinkingBudget}: a number of tokens, 0 (off) or -1 (the model decides)`);
  }
  if (o.includeThoughts && o.thinkingBudget === 0) problems.push('includeThoughts with thinkingBudget 0: thinking is off, there are no thoughts to include');
  for (const [name, value] of [['compressionTriggerTokens', o.compressionTriggerTokens], ['compressionTargetTokens', o.compressionTargetTokens]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) problems.push(`${name} ${value}: a positive number of tokens`);
  }
  if (o.compressionTriggerTokens !== undefined && o.compressionTargetTokens !== undefined && o.compressionTargetTokens >= o.compressionTriggerTokens) {
    problems.push(`compressionTargetTokens (${o.compressionTargetTokens}) must be below compressionTriggerTokens (${o.compressionTriggerTokens}): compression keeps fewer tokens than it starts at`);
  }
  if (o.languageCode !== undefined && !LANGUAGE_CODE.test(o.languageCode)) problems.push(`languageCode ${JSON.stringify(o.languageCode)}: a BCP-47 code such as en-US`);
  // With local turn detection the session owns barge-in: it sends activityStart only when its
  // interruption strategy lets the user interrupt (or nothing is playing). NO_INTERRUPTION would
  // keep the model talking after the session has flushed playback for an interruption.
  if (o.activityHandling === ActivityHandling.NO_INTERRUPTION && settings.turnDetection === 'local') {
    problems.push('activityHandling NO_INTERRUPTION with local turn detection: the session decides interruptions there (use --interruption ignore), or use --turn-detection server');
  }
  if (o.turnCoverage === TurnCoverage.TURN_INCLUDES_ALL_INPUT && settings.turnDetection === 'local') {
    warnings.push('turnCoverage TURN_INCLUDES_ALL_INPUT with local turn detection: the session sends audio only within turns, so there is no other input to include');
  }
  for (const t of settings.prompt.tools) {
    if (t.behavior === 'BLOCKING' && t.scheduling) problems.push(`tool ${t.name}: scheduling ${t.scheduling} applies only to NON_BLOCKING tools, and it is declared BLOCKING`);
  }
  if (!caps) {
    if (problems.length) throw new LiveSettingsError(model, problems);
    return { warnings };
  }

  // What the model family accepts.
  if (!caps.thinkingBudget && (o.thinkingBudget !== undefined || o.includeThoughts !== undefined)) {
    problems.push(`${caps.family} takes no thinkingBudget / includeThoughts (its documentation: omit thinkingConfig)`);
  }
  if (!caps.affectiveDialog && o.affectiveDialog !== undefined) problems.push(`${caps.family} does not support affective dialog (remove affectiveDialog)`);
  if (caps.proactiveAudio === false && o.proactiveAudio !== undefined) problems.push(`${caps.family} does not support proactive audio (remove proactiveAudio)`);
  if (caps.proactiveAudio === 'always' && o.proactiveAudio === false) problems.push(`${caps.family} has proactive audio always on: proactiveAudio false is an error there`);
  for (const t of settings.prompt.tools) {
    if (t.behavior === 'NON_BLOCKING' && !caps.nonBlockingTools) problems.push(`tool ${t.name}: ${caps.family} makes synchronous function calls only (remove behavior NON_BLOCKING)`);
    const nonBlocking = t.behavior === 'NON_BLOCKING' || (t.behavior === undefined && caps.nonBlockingByDefault);
    if (t.scheduling && !nonBlocking && t.behavior === undefined) warnings.push(`tool ${t.name}: scheduling ${t.scheduling} is ignored, ${caps.family}'s calls are BLOCKING unless the tool says behavior NON_BLOCKING`);
  }
  if (problems.length) throw new LiveSettingsError(model, problems);
  return { warnings };
}
