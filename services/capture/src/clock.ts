import { systemClock, type Clock } from '@voicebus/runtime';

/** Capture's time source: the stack's clock plus sleeping until a pacing deadline. */
export interface PacingClock extends Clock {
  /** Resolves at (or just after) the monotonic time `atMs`. */
  sleepUntil(atMs: number): Promise<void>;
}

export const systemPacingClock: PacingClock = {
  ...systemClock,
  sleepUntil: (atMs) => {
    const wait = atMs - performance.now();
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
  },
};
