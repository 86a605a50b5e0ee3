import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { rms } from './engines/energy-engine.ts';
import type { VadEngine, VadStream } from './engines/vad-engine.ts';
import { VoicedEnd, type SpeechEndSource, type VoicedEndOptions } from './voiced-end.ts';

export interface SpeechDetectorOptions {
  /** A frame at or above this probability is voiced. */
  positiveSpeechThreshold: number;
  /** A frame below this probability is silence; in between keeps the current state. */
  negativeSpeechThreshold: number;
  /** Speech shorter than this is a misfire (a click, a cough), never confirmed. */
  minSpeechMs: number;
  /** Silence needed after voiced audio before the speech segment ends (hangover). */
  redemptionMs: number;
  /** Silence after voiced audio that is reported as a pause (0 = never): speculative endpointing acts on it. */
  pauseMs: number;
  /** Audio before the first voiced frame the session should also send (pre-roll). */
  preSpeechPadMs: number;
  /** Frames quieter than this RMS (full scale 1.0) count as silence whatever the model says. */
  minVolume: number;
  /**
   * Where a segment ends: `energy` moves the model's last voiced frame back to the last audio
   * that stands out of the device's noise floor (see voiced-end.ts); `vad` keeps the model's.
   */
  speechEnd: SpeechEndSource;
  voicedEnd: Partial<VoicedEndOptions>;
}

/** Silero's usual parameters, with a redemption short enough for a 700 ms end of turn. */
export const SPEECH_DETECTOR_DEFAULTS: SpeechDetectorOptions = {
  positiveSpeechThreshold: 0.5,
  negativeSpeechThreshold: 0.35,
  minSpeechMs: 250,
  redemptionMs: 300,
  pauseMs: 0,
  preSpeechPadMs: 300,
  minVolume: 0.001,
  speechEnd: 'energy',
  voicedEnd: {},
};

/** What the detector observed; every time is the capture time of audio, in epoch µs. */
export type SpeechSignal =
  /** First voiced frame of a possible speech segment (not yet confirmed). */
  | { type: 'onset'; atUs: number }
  /** The segment lasted minSpeechMs: it is speech. */
  | { type: 'confirmed'; speechStartUs: number; atUs: number; inferenceMs: number }
  /** Voiced audio continues (each voiced frame after confirmation). */
  | { type: 'voiced'; atUs: number }
  /** The segment ended after the redemption time; `speechEndUs` is its last voiced audio, found as `endSource` says. */
  | { type: 'end'; speechStartUs: number; speechEndUs: number; endSource: SpeechEndSource; atUs: number; inferenceMs: number }
  /**
   * The voice stopped `pauseMs` ago (measured from its refined end) while the segment is still
   * open: maybe the end of the turn. Once per stretch of silence.
   */
  | { type: 'pause'; speechEndUs: number; endSource: SpeechEndSource; atUs: number }
  /** The possible segment never reached minSpeechMs. */
  | { type: 'misfire'; atUs: number }
  /** A frame was processed; `atUs` is the capture time of its end (drives silence timers). */
  | { type: 'frame'; atUs: number; probability: number };

const STATES = { silent: 'silent', onset: 'onset', speaking: 'speaking' } as const;
type State = (typeof STATES)[keyof typeof STATES];

/**
 * Per-device speech segmentation on top of a VAD engine: frames the incoming chunks for the
 * engine, resamples only if the device does not send 16 kHz, and turns frame probabilities
 * into onset / confirmed / end signals stamped with the capture time of the audio itself.
 */
export class SpeechDetector {
  readonly options: SpeechDetectorOptions;
  private readonly engine: VadEngine;
  private readonly stream: VadStream;
  private readonly frame: Float32Array;
  private filled = 0;
  /** Capture time of the first sample in `frame`. */
  private frameStartUs = 0;
  private state: State = STATES.silent;
  private startUs = 0;
  private lastVoicedEndUs = 0;
  private silenceMs = 0;
  private pauseReported = false;
  private inferenceMs = 0;
  private frames = 0;
  private resampler: { rate: number; src: Promise<{ full(input: Float32Array): Float32Array; destroy(): void }> } | undefined;
  private readonly voicedEnd: VoicedEnd;

  constructor(engine: VadEngine, options: Partial<SpeechDetectorOptions> = {}) {
    this.engine = engine;
    this.stream = engine.createStream();
    this.options = { ...SPEECH_DETECTOR_DEFAULTS, ...options };
    this.frame = new Float32Array(engine.frameSamples);
    this.voicedEnd = new VoicedEnd(engine.sampleRate, this.options.voicedEnd);
  }

  /** The open segment's end: the model's last voiced frame, refined as configured. */
  private segmentEnd(): { speechEndUs: number; endSource: SpeechEndSource } {
    if (this.options.speechEnd === 'vad') return { speechEndUs: this.lastVoicedEndUs, endSource: 'vad' };
    const { endUs, source } = this.voicedEnd.refine(this.lastVoicedEndUs, this.startUs);
    return { speechEndUs: endUs, endSource: source };
  }

  get frameMs(): number {
    return (this.engine.frameSamples / this.engine.sampleRate) * 1000;
  }

  /** Mean model time per frame so far, for the events' inference delay. */
  get meanInferenceMs(): number {
    return this.frames ? this.inferenceMs / this.frames : 0;
  }

  get speaking(): boolean {
    return this.state !== STATES.silent;
  }

  /** Feeds one chunk of mono PCM whose first sample was captured at `captureTsUs`. */
  async push(pcm: Int16Array, captureTsUs: number, sampleRate: number): Promise<SpeechSignal[]> {
    let samples: Float32Array;
    if (sampleRate === this.engine.sampleRate) {
      samples = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i]! / 32768;
    } else {
      samples = await this.resample(pcm, sampleRate);
    }
    const out: SpeechSignal[] = [];
    const usPerSample = 1e6 / this.engine.sampleRate;
    let offset = 0;
    while (offset < samples.length) {
      if (this.filled === 0) this.frameStartUs = Math.round(captureTsUs + offset * usPerSample);
      const take = Math.min(this.frame.length - this.filled, samples.length - offset);
      this.frame.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frame.length) {
        this.filled = 0;
        await this.processFrame(out);
      }
    }
    return out;
  }

  private async resample(pcm: Int16Array, rate: number): Promise<Float32Array> {
    if (!this.resampler || this.resampler.rate !== rate) {
      this.resampler = {
        rate,
        src: libsamplerate.create(1, rate, this.engine.sampleRate, { converterType: libsamplerate.ConverterType.SRC_SINC_FASTEST }),
      };
    }
    const input = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) input[i] = pcm[i]! / 32768;
    return (await this.resampler.src).full(input);
  }

  private async processFrame(out: SpeechSignal[]): Promise<void> {
    const o = this.options;
    const startUs = this.frameStartUs;
    const endUs = startUs + Math.round(this.frameMs * 1000);
    let p = 0;
    // Garbage in (NaN-like patterns) must not poison the recurrent state.
    let finite = true;
    for (let i = 0; i < this.frame.length; i++) if (!Number.isFinite(this.frame[i]!)) finite = false;
    if (finite && rms(this.frame) >= o.minVolume) {
      const t = performance.now();
      p = await this.stream.process(this.frame);
      this.inferenceMs += performance.now() - t;
      this.frames++;
      if (!Number.isFinite(p)) {
        this.stream.reset();
        p = 0;
      }
    }
    out.push({ type: 'frame', atUs: endUs, probability: p });
    // Quiet frames teach the noise floor; every frame's energy is kept for the end search.
    this.voicedEnd.push(this.frame, startUs, this.state === STATES.silent && p < o.negativeSpeechThreshold);
    const inferenceMs = this.meanInferenceMs;
    if (p >= o.positiveSpeechThreshold) {
      this.silenceMs = 0;
      this.pauseReported = false;
      this.lastVoicedEndUs = endUs;
      if (this.state === STATES.silent) {
        this.state = STATES.onset;
        this.startUs = startUs;
        out.push({ type: 'onset', atUs: startUs });
      }
      if (this.state === STATES.onset && (endUs - this.startUs) / 1000 >= o.minSpeechMs) {
        this.state = STATES.speaking;
        out.push({ type: 'confirmed', speechStartUs: this.startUs, atUs: endUs, inferenceMs });
      } else if (this.state === STATES.speaking) {
        out.push({ type: 'voiced', atUs: endUs });
      }
      return;
    }
    if (this.state === STATES.silent) return;
    if (p < o.negativeSpeechThreshold) this.silenceMs += this.frameMs;
    if (o.pauseMs > 0 && this.state === STATES.speaking && !this.pauseReported) {
      const end = this.segmentEnd();
      if ((endUs - end.speechEndUs) / 1000 >= o.pauseMs) {
        this.pauseReported = true;
        out.push({ type: 'pause', ...end, atUs: endUs });
      }
    }
    if (this.silenceMs >= o.redemptionMs) {
      if (this.state === STATES.speaking) {
        out.push({ type: 'end', speechStartUs: this.startUs, ...this.segmentEnd(), atUs: endUs, inferenceMs });
      } else {
        out.push({ type: 'misfire', atUs: endUs });
      }
      this.state = STATES.silent;
      this.silenceMs = 0;
      this.pauseReported = false;
    }
  }

  /** The audio ended: close an open segment at its last voiced audio. */
  finish(atUs: number): SpeechSignal[] {
    const was = this.state;
    this.state = STATES.silent;
    this.silenceMs = 0;
    this.filled = 0;
    if (was === STATES.speaking) {
      return [{ type: 'end', speechStartUs: this.startUs, ...this.segmentEnd(), atUs, inferenceMs: this.meanInferenceMs }];
    }
    return was === STATES.onset ? [{ type: 'misfire', atUs }] : [];
  }

  /** Forget everything (a capture restart): state, context, partial frame. */
  reset(): void {
    this.stream.reset();
    this.voicedEnd.reset();
    this.state = STATES.silent;
    this.filled = 0;
    this.silenceMs = 0;
  }

  close(): void {
    void this.resampler?.src.then((s) => s.destroy());
  }
}
