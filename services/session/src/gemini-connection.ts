import { EventEmitter } from 'node:events';
import { GoogleGenAI, Modality, type FunctionResponse, type LiveConnectConfig, type LiveServerMessage, type Session } from '@google/genai';
import type { Logger } from '@voicebus/runtime';
import type { RenderedPrompt } from './prompt-pack.ts';

export const TURN_DETECTION_MODES = ['local', 'server'] as const;
export type TurnDetectionMode = (typeof TURN_DETECTION_MODES)[number];

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

export interface GeminiConnectionEvents {
  message: [LiveServerMessage];
  close: [{ code: number; reason: string }];
}

/**
 * One live WebSocket session through the real @google/genai client. Every callback is
 * wrapped: an exception thrown inside the SDK's message callback would kill the process.
 */
export class GeminiConnection extends EventEmitter<GeminiConnectionEvents> {
  private session: Session | undefined;
  private closedByUs = false;
  lastMessageAt = 0;
  readonly openedAt = Date.now();
  private readonly log: Logger;

  private constructor(log: Logger) {
    super();
    this.log = log;
  }

  static async open(endpoint: GeminiEndpoint, settings: LiveSettings, handle: string | undefined, log: Logger): Promise<GeminiConnection> {
    const conn = new GeminiConnection(log);
    const ai = new GoogleGenAI({
      apiKey: endpoint.apiKey,
      // v1beta: the Live API's version (3.x of the SDK defaults to v1).
      httpOptions: { apiVersion: 'v1beta', ...(endpoint.baseUrl ? { baseUrl: endpoint.baseUrl } : {}) },
    });
    conn.session = await ai.live.connect({
      model: settings.model,
      config: liveConfig(settings, handle),
      callbacks: {
        onmessage: (m) => conn.safely('message', () => {
          conn.lastMessageAt = Date.now();
          conn.emit('message', m);
        }),
        onclose: (e) => conn.safely('close', () => conn.emit('close', { code: e?.code ?? 1006, reason: e?.reason ?? '' })),
        onerror: (e) => conn.safely('error', () => log.warn({ err: (e as { message?: string })?.message }, 'gemini socket error')),
      },
    });
    return conn;
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, callback: what }, 'error in a Gemini callback (contained)');
    }
  }

  get closedIntentionally(): boolean {
    return this.closedByUs;
  }

  sendAudio(pcm: Int16Array, sampleRate: number): void {
    this.session?.sendRealtimeInput({
      audio: { data: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64'), mimeType: `audio/pcm;rate=${sampleRate}` },
    });
  }

  activityStart(): void {
    this.session?.sendRealtimeInput({ activityStart: {} });
  }

  activityEnd(): void {
    this.session?.sendRealtimeInput({ activityEnd: {} });
  }

  sendText(text: string): void {
    this.session?.sendClientContent({ turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true });
  }

  sendToolResponse(functionResponses: FunctionResponse[]): void {
    this.session?.sendToolResponse({ functionResponses });
  }

  close(): void {
    this.closedByUs = true;
    try {
      this.session?.close();
    } catch {
      // already closed
    }
  }
}
