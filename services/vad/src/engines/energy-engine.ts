import type { VadEngine, VadStream } from './vad-engine.ts';

export interface EnergyVadOptions {
  /** RMS (full scale 1.0) at which a frame counts as speech. */
  minVolume: number;
  frameSamples: number;
}

export const ENERGY_VAD_DEFAULTS: EnergyVadOptions = { minVolume: 0.01, frameSamples: 320 };

export function rms(frame: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return Math.sqrt(sum / Math.max(1, frame.length));
}

/**
 * A simple RMS voice detector, for machines where ONNX is not wanted. Its "confidence" is
 * the RMS relative to twice the minimum volume, so a confidence threshold of 0.5 means
 * "at least the minimum volume". It fails in noise (BENCHMARKS.md): Silero is the default.
 */
export class EnergyEngine implements VadEngine {
  readonly name = 'energy' as const;
  readonly sampleRate = 16000 as const;
  readonly frameSamples: number;
  readonly options: EnergyVadOptions;

  constructor(options: Partial<EnergyVadOptions> = {}) {
    this.options = { ...ENERGY_VAD_DEFAULTS, ...options };
    this.frameSamples = this.options.frameSamples;
  }

  createStream(): VadStream {
    const scale = 1 / (2 * this.options.minVolume);
    return {
      process: async (frame) => Math.min(1, rms(frame) * scale),
      reset: () => {},
    };
  }
}
