/// <reference lib="dom" />
// The microphone's AudioWorklet: the context's audio (any rate) → 16 kHz PCM16 chunks.
import { TIMELINE_DEFAULTS } from './capture-timeline.ts';
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
 *
 * From the first input on, capture sample k is the input of context frame `firstFrame + k × step`
 * exactly, so counting chunks (the capture timeline's rule) and reading the audio clock give
 * the same time. Frames that pass without input (Chromium skips the worklet for a few dozen
 * quanta while the track starts, up to ~80 ms seen) are captured as silence; otherwise every
 * later chunk would be stamped that much before its audio. A gap longer than the timeline's
 * re-anchoring threshold (200 ms: a stalled track) is not filled: the chunks after it carry
 * their true frames and the timeline re-anchors on them.
 */
class CaptureProcessor extends scope.AudioWorkletProcessor implements WorkletProcessor {
  private readonly resampler: Resampler;
  private readonly chunk: Float32Array;
  private readonly step: number;
  private readonly maxFillFrames: number;
  private filled = 0;
  /** Context frame of capture sample 0 (moved on by a gap that is not filled). */
  private firstFrame: number | undefined;
  /** Input frames given to the resampler, and capture samples it returned, since then. */
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
    this.maxFillFrames = Math.round((TIMELINE_DEFAULTS.maxDriftUs / 1e6) * scope.sampleRate);
  }

  process(inputs: Float32Array[][]): boolean {
    const mono = inputs[0]?.[0];
    // No input (the track is starting, or stalled): nothing captured yet; the frames tell later.
    if (!mono) return true;
    const frame = scope.currentFrame;
    this.firstFrame ??= frame;
    const missed = frame - (this.firstFrame + this.inputFrames);
    if (missed > 0 && missed <= this.maxFillFrames) this.take(new Float32Array(missed));
    else if (missed > 0) this.firstFrame += missed;
    this.take(mono);
    return true;
  }

  private take(input: Float32Array): void {
    this.inputFrames += input.length;
    const samples = this.resampler.push(input);
    let at = 0;
    while (at < samples.length) {
      if (this.filled === 0) this.chunkFrame = this.firstFrame! + (this.outputSamples + at) * this.step;
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
  }
}

scope.registerProcessor('voicebus-capture', CaptureProcessor);
