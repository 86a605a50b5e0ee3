import { context as otelContext, SpanKind, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { Mailbox } from './mailbox.ts';

/** One device's state machine inside a service. It owns its state; nothing else touches it. */
export interface Actor<M> {
  handle(message: M): void | Promise<void>;
  /** Called on passivation, restart (after a crash) and host shutdown. */
  stop?(reason: ActorStopReason): void | Promise<void>;
}

export const ACTOR_STOP_REASONS = {
  idle: 'idle',
  crashed: 'crashed',
  shutdown: 'shutdown',
  released: 'released',
} as const;
export type ActorStopReason = (typeof ACTOR_STOP_REASONS)[keyof typeof ACTOR_STOP_REASONS];

export interface ActorContext {
  deviceId: string;
  log: Logger;
  /** How many times this device's actor was restarted after a crash. */
  restarts: number;
}

export type ActorFactory<M> = (ctx: ActorContext) => Actor<M>;

/** The consumer span to open around one message, with the producer's context as parent. */
export interface DeliveryTrace {
  parent: Context;
  name: string;
  attributes?: Attributes;
}

export interface Delivery<M> {
  message: M;
  /** Audio is droppable under overload; control and events are not. */
  droppable: boolean;
  trace?: DeliveryTrace | undefined;
}

export interface ActorHostOptions {
  /** Max queued messages per device before the oldest audio is dropped. */
  mailboxCapacity: number;
  /** Stop an actor after this long without messages (0 = never). */
  idleMs: number;
  /** Called with the number of messages dropped for overload (metrics). */
  onDrop: ((count: number, deviceId: string) => void) | undefined;
}

export const ACTOR_HOST_DEFAULTS: ActorHostOptions = {
  // 250 chunks of 20 ms = 5 s of audio: enough to ride out a GC pause, bounded for overload.
  mailboxCapacity: 250,
  idleMs: 5 * 60_000,
  onDrop: undefined,
};

export interface ActorStats {
  deviceId: string;
  processed: number;
  dropped: number;
  restarts: number;
  queued: number;
}

interface Cell<M> {
  deviceId: string;
  actor: Actor<M> | undefined;
  mailbox: Mailbox<Delivery<M>>;
  running: boolean;
  processed: number;
  restarts: number;
  idleTimer: NodeJS.Timeout | undefined;
  lastDropLogAt: number;
  log: Logger;
}

/**
 * Hosts one actor per device id: created on the first message, messages processed strictly
 * in order, a crash restarts that device's actor with fresh state (others are unaffected),
 * idle actors are passivated, and overload drops the oldest audio with a visible counter.
 */
export class ActorHost<M> {
  readonly options: ActorHostOptions;
  private readonly cells = new Map<string, Cell<M>>();
  private readonly factory: ActorFactory<M>;
  private readonly log: Logger;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  totalDropped = 0;
  totalRestarts = 0;

  constructor(factory: ActorFactory<M>, log: Logger, options: Partial<ActorHostOptions> = {}) {
    this.factory = factory;
    this.log = log;
    this.options = { ...ACTOR_HOST_DEFAULTS, ...options };
  }

  get deviceIds(): string[] {
    return [...this.cells.keys()];
  }

  has(deviceId: string): boolean {
    return this.cells.has(deviceId);
  }

  deliver(deviceId: string, delivery: Delivery<M>): void {
    if (this.closed) return;
    const cell = this.cellFor(deviceId);
    const dropped = cell.mailbox.push(delivery);
    if (dropped.length > 0) {
      this.totalDropped += dropped.length;
      this.options.onDrop?.(dropped.length, deviceId);
      const now = Date.now();
      // One line per second per device at most: an overloaded actor must not also flood the log.
      if (now - cell.lastDropLogAt > 1000) {
        cell.lastDropLogAt = now;
        cell.log.warn({ dropped: cell.mailbox.dropped, queued: cell.mailbox.size }, 'mailbox full: dropping oldest audio');
      }
    }
    this.armIdle(cell);
    if (!cell.running) void this.run(cell);
  }

  stats(): ActorStats[] {
    return [...this.cells.values()].map((c) => ({
      deviceId: c.deviceId,
      processed: c.processed,
      dropped: c.mailbox.dropped,
      restarts: c.restarts,
      queued: c.mailbox.size,
    }));
  }

  /** Resolves when every mailbox is empty and no message is being handled. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops one device's actor now (ownership moved away, device ended). */
  async release(deviceId: string, reason: ActorStopReason = 'released'): Promise<void> {
    const cell = this.cells.get(deviceId);
    if (!cell) return;
    this.cells.delete(deviceId);
    clearTimeout(cell.idleTimer);
    cell.mailbox.clear();
    await this.stopActor(cell, reason);
    this.notifyIdle();
  }

  /** Lets queued messages finish, then stops every actor. */
  async close(): Promise<void> {
    await this.whenIdle();
    this.closed = true;
    await Promise.all(this.deviceIds.map((id) => this.release(id, 'shutdown')));
  }

  private cellFor(deviceId: string): Cell<M> {
    let cell = this.cells.get(deviceId);
    if (!cell) {
      cell = {
        deviceId,
        actor: undefined,
        mailbox: new Mailbox(this.options.mailboxCapacity),
        running: false,
        processed: 0,
        restarts: 0,
        idleTimer: undefined,
        lastDropLogAt: 0,
        log: this.log.child({ deviceId }),
      };
      this.cells.set(deviceId, cell);
    }
    return cell;
  }

  private async run(cell: Cell<M>): Promise<void> {
    cell.running = true;
    try {
      for (let entry = cell.mailbox.shift(); entry; entry = cell.mailbox.shift()) {
        if (this.cells.get(cell.deviceId) !== cell) return; // released while we were busy
        await this.process(cell, entry);
      }
    } finally {
      cell.running = false;
      this.notifyIdle();
    }
  }

  private async process(cell: Cell<M>, entry: Delivery<M>): Promise<void> {
    const handleOne = async () => {
      try {
        cell.actor ??= this.factory({ deviceId: cell.deviceId, log: cell.log, restarts: cell.restarts });
        await cell.actor.handle(entry.message);
        cell.processed++;
      } catch (err) {
        cell.restarts++;
        this.totalRestarts++;
        cell.log.error({ err, restarts: cell.restarts }, 'actor crashed; restarting it with fresh state');
        const crashed = cell;
        await this.stopActor(crashed, 'crashed');
        throw err;
      }
    };
    if (!entry.trace) {
      await handleOne().catch(() => {});
      return;
    }
    const tracer = trace.getTracer('voicebus.runtime');
    const span = tracer.startSpan(entry.trace.name, { kind: SpanKind.CONSUMER, attributes: entry.trace.attributes }, entry.trace.parent);
    await otelContext.with(trace.setSpan(entry.trace.parent, span), async () => {
      try {
        await handleOne();
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      } finally {
        span.end();
      }
    });
  }

  private async stopActor(cell: Cell<M>, reason: ActorStopReason): Promise<void> {
    const actor = cell.actor;
    cell.actor = undefined;
    if (!actor?.stop) return;
    try {
      await actor.stop(reason);
    } catch (err) {
      cell.log.warn({ err, reason }, 'actor stop failed');
    }
  }

  private armIdle(cell: Cell<M>): void {
    if (this.options.idleMs <= 0) return;
    clearTimeout(cell.idleTimer);
    cell.idleTimer = setTimeout(() => {
      if (cell.running || cell.mailbox.size > 0) return this.armIdle(cell);
      cell.log.info({ idleMs: this.options.idleMs }, 'actor idle: passivating');
      void this.release(cell.deviceId, 'idle');
    }, this.options.idleMs);
    cell.idleTimer.unref();
  }

  private isIdle(): boolean {
    for (const cell of this.cells.values()) if (cell.running || cell.mailbox.size > 0) return false;
    return true;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
