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
  /**
   * Context frame at which the chunk's first sample was rendered (fractional: a 16 kHz sample
   * falls between 48 kHz frames). The page turns it into the sample's capture time on the audio
   * clock (audio-clock.ts), however late the message itself reaches the page.
   */
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
  private readonly step: number;
  private filled = 0;
  /** Input frames given to the resampler, and chunk samples it returned, since the start. */
  private inputFrames = 0;
  private outputSamples = 0;
  /** Context frame of the first sample of the chunk being filled. */
  private chunkFrame = 0;

  constructor(options: { processorOptions?: unknown }) {
    super();
    const opts = options.processorOptions as CaptureWorkletOptions;
    this.resampler = new Resampler(scope.sampleRate, opts.targetRate);
    this.chunk = new Float32Array(opts.chunkSamples);
    this.step = scope.sampleRate / opts.targetRate;
  }

  process(inputs: Float32Array[][]): boolean {
    const mono = inputs[0]?.[0];
    // No input yet (the track is starting): nothing was captured, nothing is invented.
    if (!mono) return true;
    // The resampler's output sample k sits on its input sample k × step; input sample 0 was
    // rendered at this frame (recomputed every block, so a quantum without input moves it on).
    const firstInputFrame = scope.currentFrame - this.inputFrames;
    this.inputFrames += mono.length;
    const samples = this.resampler.push(mono);
    let at = 0;
    while (at < samples.length) {
      if (this.filled === 0) this.chunkFrame = firstInputFrame + (this.outputSamples + at) * this.step;
      const n = Math.min(this.chunk.length - this.filled, samples.length - at);
      this.chunk.set(samples.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.chunk.length) {
        const pcm = toPcm16(this.chunk);
        const message: CapturedChunk = { type: 'chunk', pcm, frame: this.chunkFrame };
        this.port.postMessage(message, [pcm.buffer]);
        this.filled = 0;
      }
    }
    this.outputSamples += samples.length;
    return true;
  }
}

scope.registerProcessor('voicebus-capture', CaptureProcessor);
