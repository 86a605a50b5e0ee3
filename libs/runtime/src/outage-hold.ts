// No Node import here, on purpose: the browser device's page holds its audio with this too
// ('@voicebus/runtime/outage-hold', bundled for the browser).

/** Told when an established connection is lost and when it is back: a service's Bus, or the page's BusLink, tells an OutageHold. */
export interface OutageListener {
  disconnected(): void;
  reconnected(): void;
}

/** What a device's hold did, as its status (the services' status replies, the page's record) shows it. */
export interface OutageHoldStats {
  holding: boolean;
  storedAfterOutage: number;
  sentLateUnstored: number;
  droppedInOutage: number;
}

/** What the hold logs through: a service's pino logger, or the page's console. */
export interface OutageHoldLog {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export interface OutageHoldOptions {
  /** Audio kept while the bus is away (by its duration); beyond it the oldest goes first (counted). */
  maxHeldMs: number;
  /** Messages kept while the bus is away, whatever their kind; beyond it the oldest go first (counted). */
  maxHeldMessages: number;
  /**
   * What was sent this long before the disconnect was noticed is sent again: it may have died
   * with the connection (written to a socket whose server was gone, or still in the client's
   * buffer, which the client empties when it dials again). Only what its consumers can tell
   * they have (audio, by number and time) is sent again: an event twice would count twice.
   */
  resendMs: number;
  /**
   * After a reconnect, how long held messages wait for the history stream to be there again
   * (the service that reads it makes it again when it reconnects). Past it, the rest is sent as
   * live messages, for a stack without that history: later than said, but heard. It bounds
   * the last attempt too: a store that hangs (an election) gives up when the wait does.
   */
  storeWaitMs: number;
  /** Between attempts to store the first held message while the stream is not there yet. */
  retryMs: number;
  /**
   * One attempt's wait for the history's ack. A store to a stream not made again yet reaches
   * the subscribers that are back and is acked by nobody: it times out, and the next attempt
   * finds the stream. Short, so that costs little; bounded by what storeWaitMs has left.
   */
  storeAttemptMs: number;
}

export const OUTAGE_HOLD_DEFAULTS: OutageHoldOptions = { maxHeldMs: 30_000, maxHeldMessages: 10_000, resendMs: 500, storeWaitMs: 5000, retryMs: 100, storeAttemptMs: 1000 };

/** How a held message reaches the bus: live, or stored (acked by the history stream). */
export interface OutageHoldBus<T> {
  publish(message: T): void;
  /** Stores the message in the history, acked within `timeoutMs`; undefined for one the history does not keep (published in its turn). */
  store(message: T, timeoutMs: number): Promise<void> | undefined;
  /** A message's audio duration (0 for events): what `maxHeldMs` counts. */
  durationMs(message: T): number;
  /** Whether a message may be sent twice (its consumers drop what they have: audio); others are not sent again. */
  resendable(message: T): boolean;
  /**
   * Whether the history is there to store into, asked before the first store of a drain. A
   * store into a stream not made again yet reaches the subscribers that are back, is acked by
   * nobody, and its retry reaches them again: an event twice. Without it, stores are tried.
   */
  historyReady?(timeoutMs: number): Promise<boolean>;
}

interface Sent<T> {
  message: T;
  at: number;
}

/**
 * What one device's publisher sends, across a NATS outage. The client forgets what is
 * published while it is disconnected (it empties its buffer at every dial), and the services
 * that listen resubscribe on their own schedule after a reconnect, so what is sent meanwhile
 * reaches nobody. Instead, from the disconnect on, messages are held here in order; after the
 * reconnect they go out one by one, the ones the history stream keeps through JetStream, each
 * acked before the next (so the service that makes that stream again is back and subscribed),
 * and only then does live traffic flow again. A consumer that resubscribed later still sees a
 * gap in the sequence and reads it from the history. Nothing is dropped but past the bounds.
 */
export class OutageHold<T> implements OutageListener {
  readonly options: OutageHoldOptions;
  private readonly bus: OutageHoldBus<T>;
  private readonly log: OutageHoldLog;
  private readonly now: () => number;
  /** Resendable messages published live in the last `resendMs`. */
  private recent: Sent<T>[] = [];
  private held: T[] = [];
  private heldMs = 0;
  private holding = false;
  private draining: Promise<void> | undefined;
  private connected = true;
  private closed = false;
  private waiters: (() => void)[] = [];
  /** Messages dropped because more than the bounds was held. */
  dropped = 0;
  /** Messages stored by the history after an outage, and sent live after `storeWaitMs` gave up on it. */
  stored = 0;
  unstored = 0;

  constructor(bus: OutageHoldBus<T>, log: OutageHoldLog, options: Partial<OutageHoldOptions> = {}, now: () => number = Date.now) {
    this.options = { ...OUTAGE_HOLD_DEFAULTS, ...options };
    this.bus = bus;
    this.log = log;
    this.now = now;
  }

  /** True while messages are held (disconnected, or the held ones not all sent yet). */
  get isHolding(): boolean {
    return this.holding;
  }

  get stats(): OutageHoldStats {
    return { holding: this.holding, storedAfterOutage: this.stored, sentLateUnstored: this.unstored, droppedInOutage: this.dropped };
  }

  send(message: T): void {
    if (this.closed) return;
    if (this.holding) return this.hold(message);
    const at = this.now();
    this.bus.publish(message);
    if (this.bus.resendable(message)) this.recent.push({ message, at });
    while (this.recent.length > 0 && this.recent[0]!.at < at - this.options.resendMs) this.recent.shift();
  }

  disconnected(): void {
    this.connected = false;
    if (this.holding || this.closed) return;
    this.holding = true;
    // What went out just before the disconnect may be lost with it: it goes again, first.
    const since = this.now() - this.options.resendMs;
    this.held = [];
    this.heldMs = 0;
    for (const s of this.recent) if (s.at >= since) this.hold(s.message);
    this.recent = [];
  }

  reconnected(): void {
    this.connected = true;
    if (this.holding && !this.draining && !this.closed) this.draining = this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves when nothing is held any more (before a device's end is said, which must not overtake its audio). */
  settled(): Promise<void> {
    if (!this.holding) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The publisher is gone (its actor stopped, its device released): what is held is dropped. */
  close(): void {
    this.closed = true;
    this.held = [];
    this.setIdle();
  }

  private hold(message: T): void {
    this.held.push(message);
    this.heldMs += this.bus.durationMs(message);
    while (this.held.length > 1 && (this.heldMs > this.options.maxHeldMs || this.held.length > this.options.maxHeldMessages)) {
      this.heldMs -= this.bus.durationMs(this.held.shift()!);
      if (this.dropped++ === 0) this.log.warn({ maxHeldMs: this.options.maxHeldMs, maxHeldMessages: this.options.maxHeldMessages }, 'bus away longer than messages are held: the oldest held are dropped (logged once, counted)');
    }
  }

  private async drain(): Promise<void> {
    const giveUpAt = this.now() + this.options.storeWaitMs;
    const total = this.held.length;
    let stored = 0;
    let ready = !this.bus.historyReady;
    while (this.held.length > 0) {
      if (!this.connected || this.closed) return; // gone again: keep holding, the next reconnect goes on
      if (!ready) {
        if (this.now() >= giveUpAt) {
          this.sendHeldLive({ err: 'the history is not there', messages: this.held.length, storeWaitMs: this.options.storeWaitMs });
          break;
        }
        ready = await this.bus.historyReady!(this.attemptMs(giveUpAt));
        if (!ready) await new Promise((r) => setTimeout(r, this.options.retryMs));
        continue;
      }
      const message = this.held[0]!;
      try {
        // An attempt waits no longer than the wait has left: a store that hangs (a cluster
        // electing the stream's leader) holds live audio no longer than storeWaitMs.
        const storing = this.bus.store(message, this.attemptMs(giveUpAt));
        if (storing) {
          await storing;
          stored++;
          this.stored++;
        } else this.bus.publish(message);
        this.held.shift();
        this.heldMs -= this.bus.durationMs(message);
      } catch (err) {
        if (this.now() < giveUpAt) {
          await new Promise((r) => setTimeout(r, this.options.retryMs));
          continue;
        }
        this.sendHeldLive({ err: (err as Error).message, messages: this.held.length, storeWaitMs: this.options.storeWaitMs });
      }
    }
    this.log.info({ messages: total, stored }, 'what was held over the bus outage is sent');
    this.setIdle();
  }

  private sendHeldLive(why: object): void {
    this.log.warn(why, 'the history did not take what was held over the outage: sent live');
    for (const m of this.held) this.bus.publish(m);
    this.unstored += this.held.length;
    this.held = [];
    this.heldMs = 0;
  }

  private attemptMs(giveUpAt: number): number {
    return Math.max(1, Math.min(this.options.storeAttemptMs, giveUpAt - this.now()));
  }

  private setIdle(): void {
    this.holding = false;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
