import type { LiveServerContent } from '@google/genai';
import { ASSISTANT_SAMPLE_RATE } from '@voicebus/protocol';

export interface ModelAudio {
  pcm: Int16Array;
  sampleRate: number;
}

/** The parts of one server message the session acts on, read defensively. */
export interface ModelContent {
  audio: ModelAudio[];
  /** Audio parts that could not be read (data not a base64 string, odd or empty payload). */
  skippedAudio: number;
  inputText: string | undefined;
  outputText: string | undefined;
  interrupted: boolean;
  generationComplete: boolean;
  turnComplete: boolean;
  /** With turnComplete: the model decided the user is not done and waits for more (thinking models). */
  waitingForInput: boolean;
  /** Anything that belongs to an answer (its output or its end). */
  ofAnswer: boolean;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * Reads a server message's content. The SDK passes the server's JSON through unchecked, so a
 * field can hold anything: what is not of the expected type is skipped, never thrown on.
 */
export function readModelContent(sc: LiveServerContent | undefined): ModelContent {
  const audio: ModelAudio[] = [];
  let skippedAudio = 0;
  const parts: unknown = sc?.modelTurn?.parts;
  for (const part of Array.isArray(parts) ? (parts as { inlineData?: { data?: unknown; mimeType?: unknown } }[]) : []) {
    const mimeType = part?.inlineData?.mimeType;
    if (typeof mimeType !== 'string' || !mimeType.startsWith('audio/pcm')) continue;
    const data = part.inlineData?.data;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : undefined;
    if (!bytes || bytes.length < 2) {
      skippedAudio++;
      continue;
    }
    const pcm = new Int16Array(bytes.length >> 1);
    Buffer.from(pcm.buffer).set(bytes.subarray(0, pcm.length * 2));
    audio.push({ pcm, sampleRate: Number(/rate=(\d+)/.exec(mimeType)?.[1] ?? ASSISTANT_SAMPLE_RATE) });
  }
  const outputText = text(sc?.outputTranscription?.text);
  const interrupted = sc?.interrupted === true;
  const generationComplete = sc?.generationComplete === true;
  const turnComplete = sc?.turnComplete === true;
  return {
    audio,
    skippedAudio,
    inputText: text(sc?.inputTranscription?.text),
    outputText,
    interrupted,
    generationComplete,
    turnComplete,
    waitingForInput: turnComplete && (sc as { waitingForInput?: unknown } | undefined)?.waitingForInput === true,
    ofAnswer: sc?.modelTurn !== undefined || outputText !== undefined || interrupted || generationComplete || turnComplete,
  };
}
