/// <reference lib="dom" />
/**
 * Context frames to wall-clock time (epoch ms) from the audio clock itself, for the speaker and
 * the microphone alike, so that what the page says it captured and what it says it played are
 * times on one clock.
 *
 * `AudioContext.getOutputTimestamp()` is a pair taken together by the audio thread: the context
 * time of the frame being presented to the output device and the `performance.now()` at which it
 * is. A frame's time follows from it by the frame's distance in samples, whenever the main thread
 * gets round to asking: a busy or throttled main thread delays the question, not the answer.
 */

/** What the mapping reads from an AudioContext (a plain object in unit tests). */
export interface AudioClockReading {
  sampleRate: number;
  /** `getOutputTimestamp()`; both fields are absent or 0 before the context renders to a device. */
  output: { contextTime?: number; performanceTime?: number };
  /** `performance.timeOrigin`: performance time 0 as epoch ms. */
  timeOrigin: number;
  /** `performance.now()` and `context.currentTime`, read now: the fallback before the device runs. */
  performanceNow: number;
  currentTime: number;
  /**
   * Seconds from rendering a frame to presenting it: `baseLatency` (the context to the audio
   * system) plus `outputLatency` (the audio system to the device), each 0 where not reported.
   */
  renderToOutputS: number;
}

export function readAudioClock(context: AudioContext): AudioClockReading {
  return {
    sampleRate: context.sampleRate,
    output: context.getOutputTimestamp(),
    timeOrigin: performance.timeOrigin,
    performanceNow: performance.now(),
    currentTime: context.currentTime,
    renderToOutputS: (context.baseLatency || 0) + (context.outputLatency || 0),
  };
}

/** Epoch ms at which context frame `frame` is presented to the output device. */
export function framePresentedAtMs(clock: AudioClockReading, frame: number): number {
  const frameS = frame / clock.sampleRate;
  const { contextTime, performanceTime } = clock.output;
  if (contextTime !== undefined && performanceTime !== undefined && performanceTime > 0) {
    return clock.timeOrigin + performanceTime + (frameS - contextTime) * 1000;
  }
  // Not yet rendering to a device: the render clock (the frame rendered about now) plus the
  // latency from rendering to the device.
  return clock.timeOrigin + clock.performanceNow + (frameS - clock.currentTime + clock.renderToOutputS) * 1000;
}

/**
 * Epoch ms at which the input sample rendered at context frame `frame` was captured: the context
 * renders a frame `renderToOutputS` before presenting it, and the input it renders then reached
 * it `inputLatencyS` after the microphone took it (the track's own figure, 0 if it gives none).
 * (Chromium headless: 10 + 30 ms and 10 ms; a chunk then reaches the page 10-20 ms after its
 * last sample by this clock, never before it: the web e2e tests check that.)
 */
export function frameCapturedAtMs(clock: AudioClockReading, frame: number, inputLatencyS: number): number {
  return framePresentedAtMs(clock, frame) - (clock.renderToOutputS + inputLatencyS) * 1000;
}
