/// <reference lib="dom" />
// The microphone's AudioWorklet: the context's audio (any rate) → 16 kHz PCM16 chunks.
import { Resampler, toPcm16 } from './resampler.ts';
import { scope, type WorkletProcessor } from './worklet-scope.ts';

export interface CaptureWorkletOptions {
  targetRate: number;
  chunkSamples: number;
}

/** One chunk, posted to the page (its buffer transferred). */
export interface CapturedChunk {
  type: 'chunk';
  pcm: Int16Array;
  /** Context frame of the block whose audio completed this chunk. */
  frame: number;
}

/**
 * Resamples the microphone to the capture rate and cuts it into fixed chunks in the audio
 * thread, so the page's main thread (layout, bus) never delays or drops audio: it only
 * receives finished chunks.
 */
class CaptureProcessor extends scope.AudioWorkletProcessor implements WorkletProcessor {
  private readonly resampler: Resampler;
  private readonly chunk: Float32Array;
  private filled = 0;

  constructor(options: { processorOptions?: unknown }) {
    super();
    const opts = options.processorOptions as CaptureWorkletOptions;
    this.resampler = new Resampler(scope.sampleRate, opts.targetRate);
    this.chunk = new Float32Array(opts.chunkSamples);
  }

  process(inputs: Float32Array[][]): boolean {
    const mono = inputs[0]?.[0];
    // No input yet (the track is starting): nothing was captured, nothing is invented.
    if (!mono) return true;
    const samples = this.resampler.push(mono);
    let at = 0;
    while (at < samples.length) {
      const n = Math.min(this.chunk.length - this.filled, samples.length - at);
      this.chunk.set(samples.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.chunk.length) {
        const pcm = toPcm16(this.chunk);
        const message: CapturedChunk = { type: 'chunk', pcm, frame: scope.currentFrame };
        this.port.postMessage(message, [pcm.buffer]);
        this.filled = 0;
      }
    }
    return true;
  }
}

scope.registerProcessor('voicebus-capture', CaptureProcessor);
