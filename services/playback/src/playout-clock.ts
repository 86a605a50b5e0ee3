/** The jitter buffer's time source, injectable so tests run without waiting. */
export interface PlayoutClock {
  monotonicMs(): number;
  epochUs(): number;
  /** Calls `fn` at (or just after) monotonic time `atMs`; returns a cancel function. */
  at(atMs: number, fn: () => void): () => void;
}

export const systemPlayoutClock: PlayoutClock = {
  monotonicMs: () => performance.now(),
  epochUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  at: (atMs, fn) => {
    const timer = setTimeout(fn, Math.max(0, atMs - performance.now()));
    return () => clearTimeout(timer);
  },
};
