import type { AudioChunk } from '@voicebus/protocol';
import type { Logger } from '@voicebus/runtime';

export interface OutageHoldOptions {
  /** Audio kept per device while the bus is away; beyond it the oldest goes first (counted). */
  maxHeldMs: number;
  /**
   * Audio sent this long before the disconnect was noticed is sent again: it may have died
   * with the connection (written to a socket whose server was gone, or still in the client's
   * buffer, which the client empties when it dials again). Consumers drop what they already have.
   */
  resendMs: number;
  /**
   * After a reconnect, how long held audio waits for the audio history to store it (the
   * stream is made again by the session when it reconnects). Past it, the rest is sent as
   * live audio, for a stack without history: later than it was spoken, but heard.
   */
  storeWaitMs: number;
  /** Between attempts to store the first held chunk while the stream is not there yet. */
  retryMs: number;
}

export const OUTAGE_HOLD_DEFAULTS: OutageHoldOptions = { maxHeldMs: 30_000, resendMs: 500, storeWaitMs: 5000, retryMs: 100 };

/** How a device's audio reaches the bus: live, or stored (acked by the audio history). */
export interface OutageHoldBus {
  publish(chunk: AudioChunk): void;
  store(chunk: AudioChunk): Promise<void>;
}

interface Sent {
  chunk: AudioChunk;
  at: number;
}

/**
 * One device's audio across a NATS outage. The client forgets what is published while it is
 * disconnected (it empties its buffer at every dial), and the services that hear a device
 * resubscribe on their own schedule after a reconnect, so live audio sent meanwhile reaches
 * nobody. Instead, from the disconnect on, chunks are held here in order; after the reconnect
 * they are published one by one through JetStream, each acked by the audio history
 * (VOICEBUS_AUDIO) before the next, and only then does live audio flow again. A consumer that
 * resubscribed late sees a gap in the sequence and reads the missing chunks from the history;
 * one already there hears them late, fast, in order. Nothing is dropped but past `maxHeldMs`.
 */
export class OutageHold {
  readonly options: OutageHoldOptions;
  private readonly bus: OutageHoldBus;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Chunks published live in the last `resendMs`. */
  private recent: Sent[] = [];
  private held: AudioChunk[] = [];
  private holding = false;
  private draining: Promise<void> | undefined;
  private connected = true;
  private waiters: (() => void)[] = [];
  /** Chunks dropped because more than `maxHeldMs` was held. */
  dropped = 0;
  /** Chunks stored by the history after an outage, and sent live after `storeWaitMs` gave up on it. */
  stored = 0;
  unstored = 0;

  constructor(bus: OutageHoldBus, log: Logger, options: Partial<OutageHoldOptions> = {}, now: () => number = Date.now) {
    this.options = { ...OUTAGE_HOLD_DEFAULTS, ...options };
    this.bus = bus;
    this.log = log;
    this.now = now;
  }

  /** True while audio is held (disconnected, or the held audio not all sent yet). */
  get isHolding(): boolean {
    return this.holding;
  }

  send(chunk: AudioChunk): void {
    if (this.holding) return this.hold(chunk);
    const at = this.now();
    this.bus.publish(chunk);
    this.recent.push({ chunk, at });
    while (this.recent.length > 0 && this.recent[0]!.at < at - this.options.resendMs) this.recent.shift();
  }

  disconnected(): void {
    this.connected = false;
    if (this.holding) return;
    this.holding = true;
    // What went out just before the disconnect may be lost with it: it goes again, first.
    const since = this.now() - this.options.resendMs;
    this.held = this.recent.filter((s) => s.at >= since).map((s) => s.chunk);
    this.recent = [];
  }

  reconnected(): void {
    this.connected = true;
    if (this.holding && !this.draining) this.draining = this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves when nothing is held any more (before a device's end is said, which must not overtake its audio). */
  settled(): Promise<void> {
    if (!this.holding) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private hold(chunk: AudioChunk): void {
    this.held.push(chunk);
    const chunkMs = (chunk.pcm.length / chunk.channels / chunk.sampleRate) * 1000;
    const max = Math.max(1, Math.floor(this.options.maxHeldMs / chunkMs));
    if (this.held.length > max) {
      this.held.shift();
      if (this.dropped++ === 0) this.log.warn({ maxHeldMs: this.options.maxHeldMs }, 'bus away longer than audio is held: the oldest held audio is dropped (logged once, counted)');
    }
  }

  private async drain(): Promise<void> {
    const giveUpAt = this.now() + this.options.storeWaitMs;
    const total = this.held.length;
    let stored = 0;
    while (this.held.length > 0) {
      if (!this.connected) return; // gone again: keep holding, the next reconnect goes on
      const chunk = this.held[0]!;
      try {
        await this.bus.store(chunk);
        stored++;
        this.stored++;
        this.held.shift();
      } catch (err) {
        if (this.now() < giveUpAt) {
          await new Promise((r) => setTimeout(r, this.options.retryMs));
          continue;
        }
        this.log.warn({ err: (err as Error).message, chunks: this.held.length, storeWaitMs: this.options.storeWaitMs }, 'the audio history did not take the audio held over the outage: sent live, late');
        for (const c of this.held) this.bus.publish(c);
        this.unstored += this.held.length;
        this.held = [];
      }
    }
    this.holding = false;
    this.log.info({ chunks: total, stored }, 'audio held over the bus outage sent');
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
