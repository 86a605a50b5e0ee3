/// <reference lib="dom" />
import { frameCapturedAtMs, readAudioClock } from './audio-clock.ts';
import type { CapturedChunk } from './capture-worklet.ts';

/** The browser's own audio processing, each switchable (all on by default). */
export interface MicrophoneOptions {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  targetRate: number;
  chunkSamples: number;
}

export const MICROPHONE_DEFAULTS: MicrophoneOptions = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, targetRate: 16_000, chunkSamples: 320 };

export class MicrophoneError extends Error {
  override name = 'MicrophoneError' as const;
  /** `denied`: the user or a policy refused; `unavailable`: no microphone, or it failed. */
  readonly kind: 'denied' | 'unavailable';
  constructor(kind: 'denied' | 'unavailable', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** A finished chunk and the epoch µs at which its first sample was captured (the audio clock's). */
export type ChunkHandler = (pcm: Int16Array, capturedAtUs: number) => void;

/**
 * The microphone: getUserMedia into an AudioWorklet that hands out 16 kHz PCM16 chunks.
 * `onChunk` gets each chunk as it is completed in the audio thread, with the time its first
 * sample was captured, read from the context's audio clock like the speaker's playout times
 * (audio-clock.ts): not when the chunk happens to reach the main thread.
 */
export class Microphone {
  readonly options: MicrophoneOptions;
  private readonly stream: MediaStream;
  private readonly context: AudioContext;
  private readonly node: AudioWorkletNode;

  private constructor(options: MicrophoneOptions, stream: MediaStream, context: AudioContext, node: AudioWorkletNode) {
    this.options = options;
    this.stream = stream;
    this.context = context;
    this.node = node;
  }

  static async open(onChunk: ChunkHandler, options: Partial<MicrophoneOptions> = {}): Promise<Microphone> {
    const opts = { ...MICROPHONE_DEFAULTS, ...options };
    if (!navigator.mediaDevices?.getUserMedia) throw new MicrophoneError('unavailable', 'This page cannot use a microphone here (it needs https or localhost).');
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: opts.echoCancellation, noiseSuppression: opts.noiseSuppression, autoGainControl: opts.autoGainControl, channelCount: 1 },
      });
    } catch (err) {
      const name = (err as DOMException).name;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        throw new MicrophoneError('denied', 'Microphone permission denied: allow the microphone for this page, then press Start again.', { cause: err });
      }
      throw new MicrophoneError('unavailable', `No microphone could be opened (${name}: ${(err as Error).message}).`, { cause: err });
    }
    const context = new AudioContext({ latencyHint: 'interactive' });
    await context.audioWorklet.addModule('capture-worklet.js');
    const node = new AudioWorkletNode(context, 'voicebus-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit',
      processorOptions: { targetRate: opts.targetRate, chunkSamples: opts.chunkSamples },
    });
    const inputLatencyS = trackLatencyS(stream);
    node.port.onmessage = (e: MessageEvent<CapturedChunk>) => {
      if (e.data.type === 'chunk') onChunk(e.data.pcm, Math.round(frameCapturedAtMs(readAudioClock(context), e.data.frame, inputLatencyS) * 1000));
    };
    context.createMediaStreamSource(stream).connect(node);
    await context.resume();
    return new Microphone(opts, stream, context, node);
  }

  async close(): Promise<void> {
    this.node.port.onmessage = null;
    for (const track of this.stream.getTracks()) track.stop();
    await this.context.close().catch(() => {});
  }
}

/** The capture latency the browser reports for the microphone's track (seconds; 0 if none). */
function trackLatencyS(stream: MediaStream): number {
  const latency = (stream.getAudioTracks()[0]?.getSettings() as { latency?: unknown } | undefined)?.latency;
  return typeof latency === 'number' && Number.isFinite(latency) && latency > 0 ? latency : 0;
}

/** A chunk's level in dBFS (RMS), for the meter. */
export function levelDbfs(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  const rms = Math.sqrt(sum / Math.max(1, pcm.length)) / 32768;
  return rms > 0 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
}
