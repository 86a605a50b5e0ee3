import { Modality, type LiveConnectConfig } from '@google/genai';
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

export interface LiveSettings {
  model: string;
  prompt: RenderedPrompt;
  voice: string | undefined;
  turnDetection: TurnDetectionMode;
  serverVad: ServerVadSettings;
  transcripts: boolean;
}

/** The setup the session sends, built from the prompt pack and the flags. */
export function liveConfig(settings: LiveSettings, resumptionHandle: string | undefined): LiveConnectConfig {
  const { prompt, serverVad } = settings;
  const voice = settings.voice ?? prompt.voice;
  const sens = (v: 'high' | 'low' | undefined, kind: 'START' | 'END') => (v ? (`${kind}_SENSITIVITY_${v.toUpperCase()}` as never) : undefined);
  const config: LiveConnectConfig = {
    responseModalities: [Modality.AUDIO],
    systemInstruction: prompt.systemInstruction,
    ...(voice ? { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: voice } } } } : {}),
    ...(prompt.temperature !== undefined ? { temperature: prompt.temperature } : {}),
    ...(prompt.maxOutputTokens !== undefined ? { maxOutputTokens: prompt.maxOutputTokens } : {}),
    ...(prompt.topP !== undefined ? { topP: prompt.topP } : {}),
    ...(prompt.topK !== undefined ? { topK: prompt.topK } : {}),
    ...(settings.transcripts ? { inputAudioTranscription: {}, outputAudioTranscription: {} } : {}),
    realtimeInputConfig: settings.turnDetection === 'local'
      ? { automaticActivityDetection: { disabled: true } }
      : {
          automaticActivityDetection: {
            disabled: false,
            ...(serverVad.startSensitivity ? { startOfSpeechSensitivity: sens(serverVad.startSensitivity, 'START') } : {}),
            ...(serverVad.endSensitivity ? { endOfSpeechSensitivity: sens(serverVad.endSensitivity, 'END') } : {}),
            ...(serverVad.prefixPaddingMs !== undefined ? { prefixPaddingMs: serverVad.prefixPaddingMs } : {}),
            ...(serverVad.silenceDurationMs !== undefined ? { silenceDurationMs: serverVad.silenceDurationMs } : {}),
          },
        },
    sessionResumption: resumptionHandle ? { handle: resumptionHandle } : {},
    // Audio sessions end after 15 minutes unless the context window slides.
    contextWindowCompression: { slidingWindow: {} },
    ...(prompt.tools.length
      ? { tools: [{ functionDeclarations: prompt.tools.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.parameters })) }] }
      : {}),
  };
  return config;
}
