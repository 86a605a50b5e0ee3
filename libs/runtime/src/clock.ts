/**
 * The one wall clock of the stack. Epoch time with sub-millisecond resolution: the monotonic
 * `performance.now()` offset from `performance.timeOrigin`, so consecutive readings never go
 * backwards within a process while staying comparable across processes on one host.
 */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function nowMs(): number {
  return nowUs() / 1000;
}

/** Time sources, injectable so pacing and playout can be tested without waiting. */
export interface Clock {
  /** Monotonic milliseconds (never jumps with NTP). */
  monotonicMs(): number;
  /** Wall-clock epoch microseconds. */
  epochUs(): number;
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  epochUs: nowUs,
};
