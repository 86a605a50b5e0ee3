/// <reference lib="dom" />
/**
 * Converts mono float audio from one sample rate to another with a windowed-sinc kernel whose
 * cutoff sits below the lower Nyquist frequency, so 48 kHz microphone audio decimated to
 * 16 kHz does not alias. Streaming: `push` takes any block size and returns what it can
 * produce now; the kernel's look-ahead (a few ms) stays buffered.
 */
export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly step: number;
  private readonly cutoff: number;
  private readonly halfWidth: number;
  private history: Float32Array = new Float32Array(0);
  /** Position of the next output sample, in input samples from the start of `history`. */
  private position: number;

  constructor(inRate: number, outRate: number, zeroCrossings = 12) {
    if (!(inRate > 0 && outRate > 0)) throw new RangeError(`sample rates must be positive (got ${inRate} → ${outRate})`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    // Relative to the input's Nyquist frequency, with a margin for the transition band.
    this.cutoff = Math.min(1, outRate / inRate) * 0.92;
    this.halfWidth = Math.ceil(zeroCrossings / this.cutoff);
    // The first output sample sits on input sample 0; the kernel's left half sees silence.
    this.history = new Float32Array(this.halfWidth);
    this.position = this.halfWidth;
  }

  push(input: Float32Array): Float32Array {
    const joined = new Float32Array(this.history.length + input.length);
    joined.set(this.history);
    joined.set(input, this.history.length);
    const out: number[] = [];
    const w = this.halfWidth;
    while (this.position + w < joined.length) {
      const centre = this.position;
      const first = Math.ceil(centre - w);
      const last = Math.floor(centre + w);
      let acc = 0;
      let norm = 0;
      for (let i = first; i <= last; i++) {
        const x = i - centre;
        const k = kernel(x, this.cutoff, w);
        acc += joined[i]! * k;
        norm += k;
      }
      out.push(norm !== 0 ? acc / norm : 0);
      this.position += this.step;
    }
    // Keep what the next outputs' kernels still reach.
    const keepFrom = Math.max(0, Math.floor(this.position - w) - 1);
    this.history = joined.slice(keepFrom);
    this.position -= keepFrom;
    return Float32Array.from(out);
  }
}

/** sinc low-pass at `cutoff` (fraction of Nyquist), Blackman window of half-width `w` samples. */
function kernel(x: number, cutoff: number, w: number): number {
  if (Math.abs(x) >= w) return 0;
  const t = Math.PI * cutoff * x;
  const sinc = x === 0 ? 1 : Math.sin(t) / t;
  const n = (x + w) / (2 * w);
  const window = 0.42 - 0.5 * Math.cos(2 * Math.PI * n) + 0.08 * Math.cos(4 * Math.PI * n);
  return sinc * window;
}

/** Float [-1, 1] to signed 16-bit, clipped. */
export function toPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    out[i] = Math.round(s < 0 ? s * 0x8000 : s * 0x7fff);
  }
  return out;
}
