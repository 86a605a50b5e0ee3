/**
 * Automatic activity detection, the server side turn detection of the Live API
 * (realtimeInputConfig.automaticActivityDetection). Two detectors:
 * - `rms`, the original: one RMS value per audio message, a turn starts after `minSpeechMs` of
 *   loud messages and ends after `silenceDurationMs` (setup) or `silenceMs` of quiet ones;
 * - `hangover`: 10 ms frames; start of speech is committed after `prefixPaddingMs` of voiced
 *   frames, end of speech after `silenceDurationMs` of unvoiced ones (the hangover), so a pause
 *   shorter than that does not split a turn. START_SENSITIVITY_LOW needs louder speech to start,
 *   END_SENSITIVITY_LOW waits longer (800 ms against 500 ms for HIGH, the Gemini Live default)
 *   when the setup gives no silence duration.
 * Offsets are audio time since the first audio of the connection, as voiceActivity.audioOffset is.
 */
export type VadEvent = { type: 'start'; offsetMs: number } | { type: 'end'; offsetMs: number; speechMs: number };

export interface VadSettings {
  mode: 'rms' | 'hangover';
  energyThreshold: number;
  minSpeechMs: number;
  silenceMs: number;
  prefixPaddingMs: number;
  /** From the setup. */
  setupSilenceMs: number | undefined;
  setupPrefixPaddingMs: number | undefined;
  startSensitivity: string | undefined;
  endSensitivity: string | undefined;
}

const FRAME_MS = 10;

export class ActivityDetector {
  private readonly s: VadSettings;
  /** Audio time received so far. */
  private streamMs = 0;
  speaking = false;
  /** Speech in the current turn. */
  speechMs = 0;
  private voicedRunMs = 0;
  private runStartMs = 0;
  private silenceRunMs = 0;
  private lastVoicedEndMs = 0;
  private turnStartMs = 0;

  constructor(settings: VadSettings) {
    this.s = settings;
  }

  get silenceDurationMs(): number {
    if (this.s.setupSilenceMs !== undefined) return this.s.setupSilenceMs;
    if (this.s.mode === 'rms') return this.s.silenceMs;
    return this.s.endSensitivity === 'END_SENSITIVITY_LOW' ? 800 : 500;
  }

  /** Carries an unfinished turn over a resumption. */
  restore(speaking: boolean, speechMs: number): void {
    this.speaking = speaking;
    this.speechMs = speechMs;
  }

  push(pcm: Int16Array, rate: number): VadEvent[] {
    return this.s.mode === 'rms' ? this.pushRms(pcm, rate) : this.pushFrames(pcm, rate);
  }

  /** audioStreamEnd: the microphone is off, so an open turn ends now. */
  streamEnd(): VadEvent[] {
    if (!this.speaking) return [];
    return [this.end(this.streamMs)];
  }

  private end(offsetMs: number): VadEvent {
    this.speaking = false;
    this.voicedRunMs = 0;
    this.silenceRunMs = 0;
    const speechMs = this.speechMs;
    return { type: 'end', offsetMs, speechMs };
  }

  private pushRms(pcm: Int16Array, rate: number): VadEvent[] {
    const ms = (pcm.length / rate) * 1000;
    const start = this.streamMs;
    this.streamMs += ms;
    const events: VadEvent[] = [];
    if (rms(pcm, 0, pcm.length) >= this.s.energyThreshold) {
      this.voicedRunMs += ms;
      this.silenceRunMs = 0;
      if (!this.speaking && this.voicedRunMs >= this.s.minSpeechMs) {
        this.speaking = true;
        this.speechMs = this.voicedRunMs;
        events.push({ type: 'start', offsetMs: start + ms - this.voicedRunMs });
      } else if (this.speaking) this.speechMs += ms;
    } else {
      this.voicedRunMs = 0;
      if (this.speaking) {
        this.silenceRunMs += ms;
        if (this.silenceRunMs >= this.silenceDurationMs) events.push(this.end(this.streamMs));
      }
    }
    return events;
  }

  private pushFrames(pcm: Int16Array, rate: number): VadEvent[] {
    const events: VadEvent[] = [];
    const frame = Math.max(1, Math.round((rate * FRAME_MS) / 1000));
    const threshold = this.s.energyThreshold * (this.s.startSensitivity === 'START_SENSITIVITY_LOW' ? 2 : 1);
    const prefix = this.s.setupPrefixPaddingMs ?? this.s.prefixPaddingMs;
    for (let off = 0; off < pcm.length; off += frame) {
      const end = Math.min(pcm.length, off + frame);
      const ms = ((end - off) / rate) * 1000;
      const at = this.streamMs;
      this.streamMs += ms;
      // Hysteresis: once speaking, quieter speech still counts as voiced.
      const voiced = rms(pcm, off, end) >= (this.speaking ? threshold * 0.6 : threshold);
      if (voiced) {
        if (this.voicedRunMs === 0) this.runStartMs = at;
        this.voicedRunMs += ms;
        this.silenceRunMs = 0;
        this.lastVoicedEndMs = this.streamMs;
        if (!this.speaking && this.voicedRunMs >= Math.max(FRAME_MS, prefix)) {
          this.speaking = true;
          this.turnStartMs = this.runStartMs;
          events.push({ type: 'start', offsetMs: this.runStartMs });
        }
        if (this.speaking) this.speechMs = this.lastVoicedEndMs - this.turnStartMs;
      } else {
        this.voicedRunMs = 0;
        if (this.speaking) {
          this.silenceRunMs += ms;
          if (this.silenceRunMs >= this.silenceDurationMs) events.push(this.end(this.lastVoicedEndMs));
        }
      }
    }
    return events;
  }
}

function rms(pcm: Int16Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (pcm[i]! / 32768) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}
