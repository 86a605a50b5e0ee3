import { systemClock } from '@voicebus/runtime';

/** The jitter buffer's time source, injectable so tests run without waiting. */
export interface PlayoutClock {
  monotonicMs(): number;
  epochUs(): number;
  /** Calls `fn` at (or just after) monotonic time `atMs`; returns a cancel function. */
  at(atMs: number, fn: () => void): () => void;
}

export const systemPlayoutClock: PlayoutClock = {
  ...systemClock,
  at: (atMs, fn) => {
    const timer = setTimeout(fn, Math.max(0, atMs - systemClock.monotonicMs()));
    return () => clearTimeout(timer);
  },
};

/** The part of an actor's context the playout clock needs. */
interface TimerHost {
  schedule(name: string, delayMs: number, options?: { priority?: boolean }): void;
  cancel(name: string): void;
}

/**
 * Playout deadlines as timers of the playback actor's own mailbox: each tick runs one message
 * at a time with everything else the actor does, and a throw in it is supervised. Ticks take
 * the priority lane, so queued audio never delays what the user hears.
 */
export class MailboxPlayoutClock implements PlayoutClock {
  static readonly TIMER = 'playout';
  private readonly host: TimerHost;
  private pending: (() => void) | undefined;

  constructor(host: TimerHost) {
    this.host = host;
  }

  monotonicMs(): number {
    return systemClock.monotonicMs();
  }

  epochUs(): number {
    return systemClock.epochUs();
  }

  at(atMs: number, fn: () => void): () => void {
    this.pending = fn;
    this.host.schedule(MailboxPlayoutClock.TIMER, atMs - this.monotonicMs(), { priority: true });
    return () => {
      if (this.pending !== fn) return;
      this.pending = undefined;
      this.host.cancel(MailboxPlayoutClock.TIMER);
    };
  }

  /** The actor's timer fired. */
  fire(): void {
    const fn = this.pending;
    this.pending = undefined;
    fn?.();
  }
}
