import { context as otelContext, SpanKind, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { Mailbox } from './mailbox.ts';

/** One device's state machine inside a service. It owns its state; nothing else touches it. */
export interface Actor<M> {
  handle(message: M): void | Promise<void>;
  /** A timer armed with `ctx.schedule(name, ms)` fired: runs in the mailbox, under supervision. */
  onTimer?(name: string): void | Promise<void>;
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

export interface LaneOptions {
  /** Served before queued audio and other normal messages (control, turn events, playout). */
  priority?: boolean | undefined;
}

/**
 * What an actor gets from its host. Timers and self-sent messages go through the actor's own
 * mailbox, so every state change happens one message at a time and a throw in a timer handler
 * restarts the actor like any other. Both belong to this incarnation of the actor: after a
 * restart or a release, what the old one scheduled or sent is dropped.
 */
export interface ActorContext<M = unknown> {
  deviceId: string;
  log: Logger;
  /** How many times this device's actor was restarted after a crash. */
  restarts: number;
  /** Queues a message for this actor (results of its own async work: sockets, tools). */
  send(message: M, options?: LaneOptions): void;
  /** Arms the named timer, replacing one of the same name; `onTimer(name)` runs when it fires. */
  schedule(name: string, delayMs: number, options?: LaneOptions): void;
  cancel(name: string): void;
  isScheduled(name: string): boolean;
  /**
   * Audio this device's mailbox dropped so far because the actor fell behind (load shedding).
   * A gap in the audio it made is on purpose: read back, it would only make the actor later.
   */
  droppedAudio(): number;
}

export type ActorFactory<M> = (ctx: ActorContext<M>) => Actor<M>;

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
  /** Overtakes queued normal messages (control and turn events). */
  priority?: boolean | undefined;
  trace?: DeliveryTrace | undefined;
}

/** What a mailbox holds: a delivered message or a fired timer, of one actor incarnation. */
type Entry<M> =
  | { kind: 'message'; delivery: Delivery<M>; droppable: boolean; priority: boolean; generation: number | undefined }
  | { kind: 'timer'; name: string; droppable: false; priority: boolean; generation: number };

export interface ActorHostOptions {
  /** Max queued messages per device before the oldest audio is dropped. */
  mailboxCapacity: number;
  /** Stop an actor after this long without messages (0 = never). */
  idleMs: number;
  /** Called with the number of messages dropped for overload (metrics). */
  onDrop: ((count: number, deviceId: string) => void) | undefined;
  /** Called once an idle actor was stopped (its device's lease can go: nothing holds it here). */
  onPassivated: ((deviceId: string) => void) | undefined;
}

export const ACTOR_HOST_DEFAULTS: ActorHostOptions = {
  // 250 chunks of 20 ms = 5 s of audio: enough to ride out a GC pause, bounded for overload.
  mailboxCapacity: 250,
  idleMs: 5 * 60_000,
  onDrop: undefined,
  onPassivated: undefined,
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
  /** Bumped whenever the actor stops: entries of an older incarnation are dropped. */
  generation: number;
  timers: Map<string, NodeJS.Timeout>;
  mailbox: Mailbox<Entry<M>>;
  running: boolean;
  processed: number;
  restarts: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** When the last message came in (performance.now()); the idle timer checks it when it fires. */
  lastMessageAt: number;
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
    this.enqueue(cell, { kind: 'message', delivery, droppable: delivery.droppable, priority: Boolean(delivery.priority), generation: undefined });
  }

  private enqueue(cell: Cell<M>, entry: Entry<M>): void {
    const dropped = cell.mailbox.push(entry);
    if (dropped.length > 0) {
      this.totalDropped += dropped.length;
      this.options.onDrop?.(dropped.length, cell.deviceId);
      const now = Date.now();
      // One line per second per device at most: an overloaded actor must not also flood the log.
      if (now - cell.lastDropLogAt > 1000) {
        cell.lastDropLogAt = now;
        cell.log.warn({ dropped: cell.mailbox.dropped, queued: cell.mailbox.size }, 'mailbox full: dropping oldest audio');
      }
    }
    if (entry.kind === 'message') this.armIdle(cell);
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
        generation: 0,
        timers: new Map(),
        mailbox: new Mailbox(this.options.mailboxCapacity),
        running: false,
        processed: 0,
        restarts: 0,
        idleTimer: undefined,
        lastMessageAt: 0,
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

  private async process(cell: Cell<M>, entry: Entry<M>): Promise<void> {
    // Sent or scheduled by an incarnation that has stopped since: not for this one.
    if (entry.generation !== undefined && entry.generation !== cell.generation) return;
    const handleOne = async () => {
      try {
        cell.actor ??= this.factory(this.contextFor(cell));
        if (entry.kind === 'timer') await cell.actor.onTimer?.(entry.name);
        else await cell.actor.handle(entry.delivery.message);
        cell.processed++;
      } catch (err) {
        cell.restarts++;
        this.totalRestarts++;
        const what = entry.kind === 'timer' ? { timer: entry.name } : {};
        cell.log.error({ err, restarts: cell.restarts, ...what }, 'actor crashed; restarting it with fresh state');
        await this.stopActor(cell, 'crashed');
        throw err;
      }
    };
    const deliveryTrace = entry.kind === 'message' ? entry.delivery.trace : undefined;
    if (!deliveryTrace) {
      await handleOne().catch(() => {});
      return;
    }
    const tracer = trace.getTracer('voicebus.runtime');
    const span = tracer.startSpan(deliveryTrace.name, { kind: SpanKind.CONSUMER, attributes: deliveryTrace.attributes }, deliveryTrace.parent);
    await otelContext.with(trace.setSpan(deliveryTrace.parent, span), async () => {
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

  /** The context of the actor incarnation about to be created: sends and timers carry its generation. */
  private contextFor(cell: Cell<M>): ActorContext<M> {
    const generation = cell.generation;
    const live = () => this.cells.get(cell.deviceId) === cell && cell.generation === generation && !this.closed;
    return {
      deviceId: cell.deviceId,
      log: cell.log,
      restarts: cell.restarts,
      send: (message, options = {}) => {
        if (!live()) return;
        this.enqueue(cell, { kind: 'message', delivery: { message, droppable: false }, droppable: false, priority: Boolean(options.priority), generation });
      },
      schedule: (name, delayMs, options = {}) => {
        if (!live()) return;
        clearTimeout(cell.timers.get(name));
        const timer = setTimeout(() => {
          if (cell.timers.get(name) !== timer) return;
          cell.timers.delete(name);
          if (live()) this.enqueue(cell, { kind: 'timer', name, droppable: false, priority: Boolean(options.priority), generation });
        }, Math.max(0, delayMs));
        // The bus connection keeps a service alive; an actor's timer alone should not.
        timer.unref();
        cell.timers.set(name, timer);
      },
      cancel: (name) => {
        if (cell.generation !== generation) return;
        clearTimeout(cell.timers.get(name));
        cell.timers.delete(name);
      },
      isScheduled: (name) => cell.generation === generation && cell.timers.has(name),
      droppedAudio: () => cell.mailbox.dropped,
    };
  }

  private async stopActor(cell: Cell<M>, reason: ActorStopReason): Promise<void> {
    const actor = cell.actor;
    cell.actor = undefined;
    cell.generation++;
    for (const timer of cell.timers.values()) clearTimeout(timer);
    cell.timers.clear();
    if (!actor?.stop) return;
    try {
      await actor.stop(reason);
    } catch (err) {
      cell.log.warn({ err, reason }, 'actor stop failed');
    }
  }

  /**
   * Notes the message's time; the one timer per actor is armed only when none is, and when it
   * fires early (messages came meanwhile) it re-arms for the rest of the idle time. Before, every
   * message cleared and set a timer: 50 per second per device for audio.
   */
  private armIdle(cell: Cell<M>): void {
    if (this.options.idleMs <= 0) return;
    cell.lastMessageAt = performance.now();
    if (cell.idleTimer) return;
    this.idleTimerIn(cell, this.options.idleMs);
  }

  private idleTimerIn(cell: Cell<M>, ms: number): void {
    cell.idleTimer = setTimeout(() => {
      cell.idleTimer = undefined;
      const quiet = performance.now() - cell.lastMessageAt;
      if (quiet < this.options.idleMs) return this.idleTimerIn(cell, this.options.idleMs - quiet);
      if (cell.running || cell.mailbox.size > 0) return this.idleTimerIn(cell, this.options.idleMs);
      cell.log.info({ idleMs: this.options.idleMs }, 'actor idle: passivating');
      void this.release(cell.deviceId, 'idle').then(() => this.options.onPassivated?.(cell.deviceId));
    }, Math.max(1, Math.ceil(ms)));
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
