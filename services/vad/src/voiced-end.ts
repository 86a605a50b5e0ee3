export interface VoicedEndOptions {
  /** Samples per energy window (8 ms at 16 kHz: four per Silero frame). */
  windowSamples: number;
  /** A window this far above the device's noise floor is voice. */
  marginDb: number;
  /** Nothing quieter than this RMS (full scale 1.0) is voice, whatever the floor (digital silence, dither). */
  minRms: number;
  /** How far before the model's end the voice's end may be found. */
  maxLookbackMs: number;
  /** The noise floor is a low percentile of the quiet windows of this long a past. */
  floorMemoryMs: number;
  /** Which percentile of the quiet windows is the floor. */
  floorPercentile: number;
}

export const VOICED_END_DEFAULTS: VoicedEndOptions = {
  windowSamples: 128,
  marginDb: 6,
  minRms: 0.002,
  maxLookbackMs: 600,
  floorMemoryMs: 3000,
  floorPercentile: 0.5,
};

/** Where a speech end was found: the audio's own energy, or the model's last voiced frame. */
export const SPEECH_END_SOURCES = ['energy', 'vad'] as const;
export type SpeechEndSource = (typeof SPEECH_END_SOURCES)[number];

interface Window {
  endUs: number;
  rms: number;
}

/**
 * Finds the end of the voice in the audio itself. Silero's probability decays for a while
 * after the last syllable, so its last voiced frame trails the audible end by 60-330 ms (more
 * in noise), and every latency figure and the end-of-turn clock would start that late. This
 * keeps the energy of short windows and the device's own noise floor (from the windows the
 * detector calls silence), and moves the end back to the last window that stands out of it.
 */
export class VoicedEnd {
  readonly options: VoicedEndOptions;
  private readonly windowUs: number;
  private recent: Window[] = [];
  private quiet: number[] = [];
  private readonly ratio: number;
  /** Windows kept: the look-back (and a second to spare), and the floor's memory. */
  private readonly keepRecent: number;
  private readonly keepQuiet: number;
  /** The floor as of the last quiet window: quiet windows come while nobody speaks, the floor is read when someone stops. */
  private floorRms: number | undefined;

  constructor(sampleRate: number, options: Partial<VoicedEndOptions> = {}) {
    this.options = { ...VOICED_END_DEFAULTS, ...options };
    this.windowUs = (this.options.windowSamples / sampleRate) * 1e6;
    this.ratio = 10 ** (this.options.marginDb / 20);
    this.keepRecent = Math.ceil(((this.options.maxLookbackMs + 1000) * 1000) / this.windowUs);
    this.keepQuiet = Math.ceil((this.options.floorMemoryMs * 1000) / this.windowUs);
  }

  /** One frame of audio that started at `startUs`; `quiet` when the detector heard no speech in it. */
  push(frame: Float32Array, startUs: number, quiet: boolean): void {
    const n = this.options.windowSamples;
    for (let at = 0; at + n <= frame.length; at += n) {
      let sum = 0;
      for (let i = at; i < at + n; i++) sum += frame[i]! * frame[i]!;
      const rms = Math.sqrt(sum / n);
      this.recent.push({ endUs: startUs + ((at + n) / n) * this.windowUs, rms });
      if (quiet) this.quiet.push(rms);
    }
    if (quiet) this.floorRms = undefined;
    if (this.recent.length > this.keepRecent * 2) this.recent = this.recent.slice(-this.keepRecent);
    if (this.quiet.length > this.keepQuiet * 2) this.quiet = this.quiet.slice(-this.keepQuiet);
  }

  /** The device's noise floor (RMS), or 0 before any quiet audio was heard. */
  get floor(): number {
    if (this.floorRms === undefined) {
      const q = this.quiet.slice(-this.keepQuiet).sort((a, b) => a - b);
      this.floorRms = q.length ? q[Math.min(q.length - 1, Math.floor(q.length * this.options.floorPercentile))]! : 0;
    }
    return this.floorRms;
  }

  /** Below this a window is not voice. */
  get threshold(): number {
    return Math.max(this.options.minRms, this.floor * this.ratio);
  }

  /**
   * The end of the voice at or before `vadEndUs` (the model's last voiced frame) and after
   * `speechStartUs`: the end of the last window above the threshold. When no window in the
   * look-back stands out (a voice buried in noise), the model's end stays.
   */
  refine(vadEndUs: number, speechStartUs: number): { endUs: number; source: SpeechEndSource } {
    const threshold = this.threshold;
    const earliestUs = Math.max(speechStartUs, vadEndUs - this.options.maxLookbackMs * 1000);
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const w = this.recent[i]!;
      if (w.endUs > vadEndUs) continue;
      if (w.endUs <= earliestUs) break;
      if (w.rms >= threshold) return { endUs: Math.round(w.endUs), source: 'energy' };
    }
    return { endUs: vadEndUs, source: 'vad' };
  }

  reset(): void {
    this.recent = [];
    this.quiet = [];
    this.floorRms = undefined;
  }
}
