/** Time sources, injectable so pacing can be tested without waiting. */
export interface Clock {
  /** Monotonic milliseconds (never jumps with NTP). */
  monotonicMs(): number;
  /** Wall-clock epoch microseconds. */
  epochUs(): number;
  /** Resolves at (or just after) the monotonic time `atMs`. */
  sleepUntil(atMs: number): Promise<void>;
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  epochUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  sleepUntil: (atMs) => {
    const wait = atMs - performance.now();
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
  },
};
